"""The workflow's pure logic: promotion gate, manifests and their split, corrections as labels, import journal."""

import json
import math

import pytest

from imagetagger.coco import COCO_PARENTS
from imagetagger.corrections import Correction, build_correction
from imagetagger.errors import InvalidRequestError
from imagetagger_workflow.gate import decide
from imagetagger_workflow.importer import Journal, plan_import
from imagetagger_workflow.manifest import Example, coco_examples, split_examples, stratified_partition

# ------------------------------------------------------------------------------------------------------- gate


@pytest.mark.parametrize(
    ("candidate", "production", "min_gain", "promote"),
    [
        (45.0, 44.36, 0.0, True),
        (44.36, 44.36, 0.0, True),  # "at least the current one's"
        (44.35, 44.36, 0.0, False),
        (45.0, 44.36, 1.0, False),
        (12.0, 44.36, 0.0, False),
    ],
)
def test_gate_promotes_only_at_least_as_good(candidate, production, min_gain, promote):
    decision = decide({"mAP": candidate}, {"mAP": production}, min_gain=min_gain)
    assert decision.promote is promote
    assert f"{candidate:.2f}" in decision.reason and f"{production:.2f}" in decision.reason


def test_gate_without_a_serving_model_promotes_a_scored_candidate():
    assert decide({"mAP": 3.0}, None).promote


@pytest.mark.parametrize("broken", [{}, {"mAP": None}, {"mAP": math.nan}, {"mAP": "high"}])
def test_gate_refuses_a_candidate_without_a_finite_score(broken):
    decision = decide(broken, {"mAP": 10.0})
    assert not decision.promote and "no finite test mAP" in decision.reason


# ------------------------------------------------------------------------------------------------------- corrections


def test_coco_vocabulary_is_the_packaged_categories_file_in_id_order():
    from importlib import resources

    from imagetagger_training.data import coco_classes

    categories = json.loads(resources.files("imagetagger").joinpath("coco_categories.json").read_text())
    assert {c["name"]: c["supercategory"] for c in categories} == COCO_PARENTS
    assert list(COCO_PARENTS) == [c["name"] for c in sorted(categories, key=lambda c: c["id"])]
    # training's label order is the same vocabulary: 80 names, in COCO id order
    assert [c.name for c in coco_classes()] == list(COCO_PARENTS) and len(set(COCO_PARENTS)) == 80


def test_correction_labels_are_predicted_minus_rejected_plus_vouched():
    correction = build_correction(confirm=["dog"], reject=["cat"], add=["frisbee", "dog"])
    assert correction.added == ("frisbee",)  # confirming and adding the same tag is one label
    assert correction.labels(["dog", "cat", "person"]) == ["dog", "frisbee", "person"]
    assert Correction.from_item(correction.to_item()) == correction


def test_custom_label_names_are_examples_of_the_users_labels_never_coco_training_labels():
    correction = build_correction(
        confirm=["dog"], reject=["Old Bike"], add=["my bike"], spellings={"my bike": "My Bike"}
    )
    assert correction.added == ("My Bike",)  # the label's first spelling wins
    assert correction.custom_positives() == ["My Bike"] and correction.custom_negatives() == ["Old Bike"]
    assert correction.labels(["dog", "cat"]) == ["cat", "dog"]  # the prepare step's labels: COCO names only


@pytest.mark.parametrize(
    ("confirm", "reject", "add", "message"),
    [
        ([], [], ["uni#corn"], "contains '#'"),
        ([], [], ["Dog"], "is the COCO tag 'dog'"),
        ([], [], ["x" * 41], "at most 40"),
        (["dog"], ["dog"], [], "both kept and rejected"),
        (["my bike"], ["My Bike"], [], "both kept and rejected"),
    ],
)
def test_bad_corrections_say_what_is_wrong(confirm, reject, add, message):
    with pytest.raises(InvalidRequestError, match=message):
        build_correction(confirm, reject, add, spellings={"my bike": "my bike"})


# ------------------------------------------------------------------------------------------------------- manifests

COCO = {
    "categories": [{"id": 18, "name": "dog"}, {"id": 17, "name": "cat"}, {"id": 1, "name": "person"}],
    "images": [{"id": 2, "file_name": "b.jpg"}, {"id": 1, "file_name": "a.jpg"}, {"id": 3, "file_name": "c.jpg"}],
    "annotations": [
        {"image_id": 1, "category_id": 18},
        {"image_id": 1, "category_id": 18},
        {"image_id": 1, "category_id": 1},
        {"image_id": 2, "category_id": 17},
    ],
}


def test_coco_examples_label_each_image_with_its_annotated_categories():
    examples = coco_examples(COCO, "/data/train/")
    assert [(e.image, e.labels) for e in examples] == [
        ("/data/train/a.jpg", ["dog", "person"]),
        ("/data/train/b.jpg", ["cat"]),
        ("/data/train/c.jpg", []),  # no annotation: a negative for every class, as the training code treats it
    ]


def _corrections(n: int) -> list[Example]:
    names = list(COCO_PARENTS)
    return [
        Example(f"s3://b/uploads/u/{i:032x}", [names[i % 4], names[4 + i % 3]], "correction", f"md5-{i}")
        for i in range(n)
    ]


def test_coco_keeps_its_split_and_corrections_are_split_stratified():
    coco_train = [Example("/t/a.jpg", ["dog"], "coco", "t1")]
    coco_val = [Example("/v/b.jpg", ["cat"], "coco", "v1")]
    split = split_examples(coco_train, coco_val, _corrections(40), test_fraction=0.25, seed=0)
    assert split.train[0].image == "/t/a.jpg" and split.test[0].image == "/v/b.jpg"
    new_train = [e for e in split.train if e.source == "correction"]
    new_test = [e for e in split.test if e.source == "correction"]
    assert len(new_test) + len(new_train) == 40
    assert 8 <= len(new_test) <= 12  # about a quarter: iterative stratification trades exact size for label balance
    assert not {e.image for e in new_train} & {e.image for e in new_test}
    for label in {label for e in _corrections(40) for label in e.labels}:  # every corrected tag on both sides
        assert any(label in e.labels for e in new_train) and any(label in e.labels for e in new_test), label


def test_the_split_is_reproducible_from_the_seed():
    first = stratified_partition(_corrections(30), 0.2, seed=7)
    again = stratified_partition(_corrections(30), 0.2, seed=7)
    assert [e.image for e in first[1]] == [e.image for e in again[1]]


def test_a_corrected_copy_of_a_coco_test_image_stays_in_test_with_the_users_labels():
    coco_val = [Example("/v/b.jpg", ["cat"], "coco", "same-bytes")]
    copy = Example("s3://b/uploads/u/1", ["dog"], "correction", "same-bytes")
    split = split_examples([], coco_val, [copy], test_fraction=0.5)
    assert [(e.image, e.labels, e.source) for e in split.test] == [("/v/b.jpg", ["dog"], "correction")]
    assert split.train == []


def test_the_same_photo_corrected_twice_is_one_example():
    twice = [
        Example("s3://b/uploads/u/1", ["dog"], "correction", "x"),
        Example("s3://b/uploads/v/2", ["cat"], "correction", "x"),
    ]
    split = split_examples([], [], twice, test_fraction=0.2)
    assert len(split.train) + len(split.test) == 1


def test_too_few_corrections_to_split_all_train():
    train, test = stratified_partition(_corrections(2), 0.2, seed=0)
    assert len(train) == 2 and test == []


# ------------------------------------------------------------------------------------------------------- import journal


def test_import_plan_skips_journal_entries_and_in_folder_duplicates(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"photo-a")
    (tmp_path / "a-copy.jpg").write_bytes(b"photo-a")
    (tmp_path / "b.jpg").write_bytes(b"photo-b")
    (tmp_path / "c.jpg").write_bytes(b"photo-c")
    journal = Journal.load(tmp_path / "journal.json")
    first = plan_import(sorted(tmp_path.glob("*.jpg")), journal)
    assert len(first.to_upload) == 3 and first.duplicates_in_folder == 1 and first.already_uploaded == 0
    for digest, path in first.to_upload.items():
        if path.name != "c.jpg":  # c's upload was interrupted
            journal.record(digest, {"image_id": path.stem, "file": str(path), "status": "UPLOADED"})
    resumed = plan_import(sorted(tmp_path.glob("*.jpg")), Journal.load(tmp_path / "journal.json"))
    assert [p.name for p in resumed.to_upload.values()] == ["c.jpg"]
    assert resumed.already_uploaded == 3  # a, its copy and b


# ------------------------------------------------------------------------------------------------------- restarts


def test_a_promoted_model_is_what_the_stack_serves_after_a_restart(tmp_path):
    from imagetagger_local.pipeline.target import promoted_model_dir

    assert promoted_model_dir(tmp_path) is None  # nothing promoted: the stack's default model
    model = tmp_path / "models" / "v2"
    model.mkdir(parents=True)
    (tmp_path / "models" / "serving.json").write_text(json.dumps({"model_dir": str(model)}))
    assert promoted_model_dir(tmp_path) is None  # an incomplete folder is never served
    (model / "model.onnx").write_bytes(b"graph")
    (model / "model.json").write_text("{}")
    assert promoted_model_dir(tmp_path) == model
