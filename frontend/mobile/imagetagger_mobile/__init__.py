"""imagetagger's mobile app (Flet): the same API as the web page, as a Flutter app written in Python."""
