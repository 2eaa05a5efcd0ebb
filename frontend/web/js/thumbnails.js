// Thumbnails. The API gives each tagged image a short-lived presigned URL of the photo itself (`thumbnail_url`), so the
// gallery shows it on any device. The page also keeps a small JPEG of each file it uploads in localStorage: it shows
// at once while the image is still PENDING (no URL yet), and stands in when the URL cannot be loaded.

const PREFIX = "imagetagger.thumb.";
const MAX_EDGE = 240;

/** A small JPEG data URL of the file, or null when the browser cannot decode it (which is itself a hint). */
export async function makeThumbnail(file) {
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return canvas.toDataURL("image/jpeg", 0.75);
  } catch {
    return null;
  }
}

export function rememberThumbnail(imageId, dataUrl) {
  if (!dataUrl) return;
  try {
    localStorage.setItem(PREFIX + imageId, dataUrl);
  } catch {
    // Storage full: thumbnails are a convenience, the image itself is safe in S3.
  }
}

export function forgetThumbnail(imageId) {
  localStorage.removeItem(PREFIX + imageId);
}

/** Candidate sources, best first, for ImageCard.setThumbnail. */
export function thumbnailFor(record) {
  return [record.thumbnail_url, localStorage.getItem(PREFIX + record.image_id)].filter(Boolean);
}
