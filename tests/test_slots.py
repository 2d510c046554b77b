"""What a query already says, read into typed slots with units."""

from __future__ import annotations

import re

import pytest

from skillsrv.routing.slots import extract_slots


@pytest.mark.parametrize(("query", "expected"), [
    ("8k images of skin lesions", {"modality": "image",
                                   "dataset_size": {"value": 8000, "unit": "images"}}),
    ("2M rows of customer data", {"modality": "tabular",
                                  "dataset_size": {"value": 2_000_000, "unit": "rows"}}),
    ("classify 5,000 chest x-rays", {"task": "classification",
                                     "dataset_size": {"value": 5000, "unit": "images"}}),
    ("molecules dataset of 40k graphs", {"modality": "graph",
                                         "dataset_size": {"value": 40000, "unit": "graphs"}}),
    ("cracks in ~3k weld radiographs", {"modality": "image",
                                        "dataset_size": {"value": 3000, "unit": "images"}}),
])
def test_dataset_sizes_keep_their_units(query: str, expected: dict[str, object]) -> None:
    known = extract_slots(query).known()
    for key, value in expected.items():
        if isinstance(value, dict):
            assert {k: known[key][k] for k in value} == value  # type: ignore[index]
        else:
            assert known[key] == value


def test_budgets_latency_and_targets_are_read() -> None:
    slots = extract_slots("train on a 24GB GPU, serve on a Jetson under 50 ms")
    assert slots.memory_budget is not None and slots.memory_budget.bytes == 24 * 2**30
    assert slots.latency is not None and slots.latency.ms == 50.0
    assert slots.deployment == "edge"
    cpu = extract_slots("CPU only, real-time please")
    assert cpu.compute == "cpu only" and cpu.latency is not None and cpu.latency.ms is None
    fps = extract_slots("30 fps video on a phone")
    assert fps.latency is not None and fps.latency.ms == pytest.approx(33.3)
    assert fps.deployment == "mobile"


def test_shapes_and_sequence_lengths_are_not_mistaken_for_data_sizes() -> None:
    slots = extract_slots("224x224 images, 512-token sequences, 20k documents")
    assert slots.input_size == "224x224"
    assert slots.sequence_length == 512
    assert slots.dataset_size is not None and slots.dataset_size.value == 20_000


@pytest.mark.parametrize(("query", "size", "length"), [
    # A count joined to its unit by a hyphen is still a count of that unit.
    ("Should I use a transformer for my 500-row tabular dataset?", (500, "rows"), None),
    ("graph transformer for a 300-node citation graph", (300, "nodes"), None),
    # Tokens or steps joined by a hyphen are each example's length, not a count of examples.
    ("Mamba for 200-token sentiment classification on 5k reviews", (5000, "documents"), 200),
    ("forecast from 96-step windows of 40k meter readings", None, 96),
    # A rate or a measure before a unit word is not a count of that unit.
    ("diffusion for real-time 30fps video generation on a phone", None, None),
    ("8GB of images on disk", None, None),
    ("12k 30-second audio clips of birdsong", (12000, "clips"), None),
])
def test_hyphenated_counts_lengths_and_measures_are_read_as_what_they_count(
        query: str, size: tuple[int, str] | None, length: int | None) -> None:
    slots = extract_slots(query)
    found = slots.dataset_size
    assert ((found.value, found.unit) if found else None) == size
    assert slots.sequence_length == length


@pytest.mark.parametrize(("query", "value", "unit"), [
    ("about two thousand images of welds", 2000, "images"),
    ("twenty-five thousand rows", 25_000, "rows"),
    ("a million sentences of legal text", 1_000_000, "documents"),
    ("I have 1.2 million tweets", 1_200_000, "documents"),
    ("we have roughly 12,000 labeled MRI slices at 256x256", 12_000, "images"),
    ("half a million rows", 500_000, "rows"),
    ("a couple thousand pics", 2000, "images"),
    ("1e6 rows", 1_000_000, "rows"),
    ("10^5 samples", 100_000, "samples"),
    ("50 000 images", 50_000, "images"),
    ("10k+ images", 10_000, "images"),
    # Neither a model's name nor a learning rate is a count of the data.
    ("resnet50 on 1000 images", 1000, "images"),
    ("lr 3e-4 on 5k images", 5000, "images"),
    ("200 5-minute recordings", 200, "sequences"),
    ("train a ViT on 3,000 224x224 photos of birds", 3000, "images"),
])
def test_numbers_and_units_as_people_write_them_are_data_sizes_and_others_are_not(
        query: str, value: int, unit: str) -> None:
    found = extract_slots(query).dataset_size
    assert found is not None and (found.value, found.unit) == (value, unit)


def test_a_length_said_of_sequences_is_not_a_data_size() -> None:
    slots = extract_slots("sequences up to 4096 tokens, and I have 3 questions")
    assert slots.sequence_length == 4096 and slots.dataset_size is None


@pytest.mark.parametrize(("query", "expected"), [
    ("two GPUs with 16GB each", {"compute": "multi-gpu"}),
    # Hardware nodes are neither a graph nor a count of data.
    ("train it on an 8xH100 node", {"compute": "multi-gpu", "modality": None,
                                    "dataset_size": None}),
    ("a 4-node GPU cluster", {"compute": "multi-gpu", "modality": None, "dataset_size": None}),
    ("GNN on 50k nodes", {"modality": "graph"}),
    ("runs in a Chrome extension", {"deployment": "browser"}),
    ("predict house prices from 30 features", {"task": "regression", "modality": "tabular"}),
    ("predicting the next value of a sensor", {"task": "forecasting"}),
])
def test_hardware_targets_and_tasks_in_everyday_words_are_read(
        query: str, expected: dict[str, object]) -> None:
    slots = extract_slots(query)
    assert {key: getattr(slots, key) for key in expected} == expected


@pytest.mark.parametrize(("query", "said"), [
    ("no explainability needed, batch inference overnight", "not needed"),
    ("we don't need interpretability", "not needed"),
    ("interpretability is not a concern", "not needed"),
    ("not sure yet, but it must be interpretable", "interpretable"),
    ("must be explainable to clinicians", "explainable"),
])
def test_interpretability_said_not_to_matter_is_known_and_not_wanted(query: str,
                                                                    said: str) -> None:
    assert extract_slots(query).interpretability == said


def test_interpretability_and_classes_are_read() -> None:
    slots = extract_slots("7 classes, must be explainable to clinicians")
    assert slots.num_classes == 7 and slots.interpretability == "explainable"


def test_a_vague_query_says_nothing() -> None:
    assert extract_slots("help me pick a model").known() == {}


@pytest.mark.parametrize("query", [
    "overview please: what topics does the architecture guide cover?",
    "the results look excellent, can we ship?",
    "show me previews of the layouts",
])
def test_words_that_only_contain_a_modality_word_say_nothing(query: str) -> None:
    assert "modality" not in extract_slots(query).known()


@pytest.mark.parametrize("text", [
    "paragraphs of graph nodes and subnodes", "a GRAPH with 3 Nodes", "photographs, not graphs",
    "edge-cases: the edges of a graph", "node", "xnodes nodex", "", "ccnodes (nodes)"])
def test_a_slot_pattern_compiled_to_skip_ahead_matches_where_the_plain_one_does(
        text: str) -> None:
    from skillsrv.routing import slots

    for pattern in (r"\bgraphs?\b|molecul|\bnodes?\b|\bedges?\b|x(y|z)|[a-c]nodes",
                    *(pattern for _, pattern in (*slots._MODALITIES, *slots._TASKS))):
        for flags in (0, re.IGNORECASE):
            plain = [m.span() for m in re.finditer(pattern, text, flags)]
            assert [m.span() for m in slots._compile(pattern, flags).finditer(text)] == plain


@pytest.mark.parametrize(("query", "modality"), [
    ("about 300k policies with 60 features", "tabular"),
    ("12 numeric features per customer", "tabular"),
    ("512 features from a CNN on our photos", "image"),  # a named modality comes first
    ("the model has useful features", None)])
def test_a_count_of_features_says_the_data_is_a_table(query: str, modality: str | None) -> None:
    assert extract_slots(query).modality == modality
