"""What the torch verifier measures, checked against real runs and against arithmetic."""

from __future__ import annotations

import pytest
from test_verify_common import CNN, GPT, LSTM, shared_pool

from skillsrv.verify import (
    ContractError,
    ModelError,
    VerificationReport,
    VerifyOptions,
    verify_code,
)


def verify(code: str, **options: object) -> VerificationReport:
    return verify_code(code, VerifyOptions.model_validate(options), pool=shared_pool())


@pytest.mark.parametrize(("code", "dtype"), [
    (CNN, "fp32"), (CNN, "bf16-mixed"), (GPT, "fp32"), (GPT, "bf16"), (LSTM, "fp32"),
], ids=["cnn", "cnn-bf16-mixed", "transformer", "transformer-bf16", "lstm"])
def test_fake_tensor_peaks_equal_the_same_trackers_peaks_on_real_cpu_tensors(
        code: str, dtype: str) -> None:
    fake = verify(code, dtype=dtype, batch_size=4, target="cpu")
    real = verify(code, dtype=dtype, batch_size=4, target="cpu", tensors="real")
    assert fake.memory == real.memory
    assert fake.memory.train.peak > fake.memory.train.optimizer_state > 0
    assert fake.outputs == real.outputs and fake.flops == real.flops
    assert fake.confidence == "high"


def test_tied_weights_are_counted_once() -> None:
    report = verify(GPT, target="cpu")
    d, vocab, seq, layers = 64, 512, 32, 2
    block = 12 * d * d + 13 * d
    assert report.params.total == vocab * d + seq * d + layers * block + 2 * d
    assert report.params.by_module == {"wte": vocab * d, "wpe": seq * d, "blocks": layers * block,
                                       "ln_f": 2 * d, "lm_head": 0}
    assert report.params.tied == [["wte.weight", "lm_head.weight"]]
    assert report.memory.train.params == report.params.total * 4


def test_flops_include_attention_on_cpu_kernels() -> None:
    sdpa = verify(GPT, target="cpu")
    explicit = verify(GPT, target="cpu", config={"sdpa": False})
    b, t, d, vocab, layers = 8, 32, 64, 512, 2
    linear = layers * 2 * b * t * 12 * d * d + 2 * b * t * d * vocab
    attention = layers * 4 * b * t * t * d
    assert sdpa.flops.forward == explicit.flops.forward == linear + attention
    # backward: SDPA recomputes the scores (one more q @ k^T per layer) besides the usual 2x
    assert sdpa.flops.forward_backward == explicit.flops.forward_backward + layers * 2 * b * t * t * d
    assert sdpa.flops.by_module["blocks"] == layers * (2 * b * t * 12 * d * d) + attention


def test_the_steady_state_step_holds_the_optimizer_state() -> None:
    report = verify(GPT, target="cpu", optimizer="adamw")
    tensors = 2 + 2 * 12 + 2  # parameter tensors: embeddings, 12 per block, ln_f (tied head)
    params = report.params.total * 4
    assert report.memory.train.optimizer_state == 2 * params + 4 * tensors  # exp_avg(_sq), step
    sgd = verify(GPT, target="cpu", optimizer="sgd")
    assert sgd.memory.train.optimizer_state == params  # momentum buffers
    assert report.memory.train.peak - sgd.memory.train.peak == params + 4 * tensors


def test_gradient_flow_lists_trainable_parameters_without_gradients() -> None:
    report = verify(GPT, target="cpu", config={"unused": True})
    assert report.grad_flow.ok is False
    assert report.grad_flow.no_grad == ["spare.weight", "spare.bias"]
    assert any("no gradient" in warning for warning in report.warnings)


def test_output_shapes_name_each_tensor_of_a_dict_output() -> None:
    report = verify(LSTM, batch_size=3, target="cpu")
    assert [(o.name, o.shape) for o in report.outputs] == [
        ("out['tags']", [3, 24, 7]), ("out['last']", [3, 48])]
    assert any("oneDNN" in note for note in report.method)


def test_a_cuda_target_rounds_blocks_to_512_bytes_and_adds_the_overhead_line() -> None:
    cpu = verify(CNN, batch_size=2, target="cpu")
    cuda = verify(CNN, batch_size=2, target="cuda")
    memory = cuda.memory
    assert memory.block_bytes == 512 and memory.cuda_overhead is not None
    assert memory.total_train == memory.train.peak + memory.cuda_overhead.total
    assert memory.train.peak > cpu.memory.train.peak  # tiny BN/bias tensors take 512 B each
    assert cuda.confidence == "medium"


def test_over_budget_auto_fit_finds_the_largest_batch_that_fits() -> None:
    at_four = verify(GPT, batch_size=4, target="cpu")
    budget = at_four.memory.total_train
    report = verify(GPT, batch_size=16, target="cpu", budget_bytes=budget)
    assert report.fit is not None and report.fit.verdict == "does-not-fit"
    assert report.fit.margin == budget - report.memory.total_train < 0
    by_change = {s.change: s for s in report.suggestions}
    assert by_change["batch_size=4"].peak == budget and by_change["batch_size=4"].fits
    assert {"dtype=bf16", "checkpointing=True", "config.d_model=32"} <= set(by_change)
    assert by_change["dtype=bf16"].peak < report.memory.total_train
    assert by_change["checkpointing=True"].peak < report.memory.total_train
    assert verify(GPT, batch_size=5, target="cpu").memory.total_train > budget


def test_a_missing_contract_function_is_a_contract_error() -> None:
    code = GPT.replace("def example_inputs", "def make_inputs")
    with pytest.raises(ContractError, match="no function example_inputs"):
        verify(code)
    with pytest.raises(ContractError, match="GPTConfig has no field width"):
        verify(GPT, config={"width": 3})


def test_an_error_in_the_model_names_its_line() -> None:
    code = GPT.replace("x = self.wte(idx) + self.wpe(torch.arange(T))",
                       "x = self.wte(idx) + self.wpe(torch.arange(T + 1))")
    line = code.splitlines().index(
        "        x = self.wte(idx) + self.wpe(torch.arange(T + 1))  # (B, T, C)") + 1
    with pytest.raises(ModelError, match=rf"forward raised .*model.py:{line} in forward"):
        verify(code, target="cpu")


def test_a_module_may_bring_its_own_training_loss() -> None:
    code = GPT + (
        "\n\ndef training_loss(config: GPTConfig, logits: Tensor, inputs: tuple[Tensor, ...])"
        " -> Tensor:\n"
        "    return F.cross_entropy(logits.flatten(0, 1), inputs[0].flatten())\n")
    default = verify(GPT, target="cpu")
    own = verify(code, target="cpu")
    logits = 8 * 32 * 512 * 4
    assert own.memory.train.peak >= default.memory.train.peak + logits  # log-probabilities
    assert any("training_loss" in note for note in own.method)
