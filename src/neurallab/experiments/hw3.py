"""HW3 Problems 1 and 2: the MNIST classifier with its loss questions, and the autoencoder.

Problem 5 (time series) lives in `hw3_timeseries.py`.
"""

from __future__ import annotations

from pathlib import Path

from neurallab.experiments.base import Answer, Budget, Question, markdown_table, run_command


def p1(budget: Budget, out: Path) -> Answer:
    epochs = "5" if budget.quick else "10"
    s = run_command(["mnist", "--epochs", epochs, "--seed", str(budget.seed)], out / "run")
    q = s["loss_questions"]
    f = s["final"]
    ratio = q["p1b_dce_dyhat3"] / q["p1b_dmse_dyhat3"]
    rows = [
        ["dL/dy_hat_3 (probability)", f"{q['p1b_dmse_dyhat3']:.4f}", f"{q['p1b_dce_dyhat3']:.4f}"],
        [
            "dL/dy_hat_k, k != 3",
            f"{q['p1b_dmse_dyhat_other']:.4f}",
            f"{q['p1b_dce_dyhat_other']:.4f}",
        ],
        ["dL/dz_3 (logit)", f"{q['p1b_dmse_dlogit3']:.4f}", f"{q['p1b_dce_dlogit3']:.4f}"],
    ]
    acc_rows = [
        [split, f"{f[f'{split}/loss']:.4f}", f"{f[f'{split}/acc']:.4f}"]
        for split in ("val", "test")
    ]
    return Answer(
        text=(
            f"**A.** CE = -ln(y_hat_3) = -ln(0.4) = **{q['p1a_cross_entropy']:.4f}** (natural log). "
            f"The student answer -0.397 is wrong twice: it is log10 (log10 0.4 = -0.398) and a loss "
            f"cannot be negative.\n\n**B.** At y_hat_3 = 0.9 (the other nine sharing 0.1), "
            f"dCE/dy_hat_3 = -1/0.9 = {q['p1b_dce_dyhat3']:.3f} while dMSE/dy_hat_3 = 2(0.9-1)/10 = "
            f"{q['p1b_dmse_dyhat3']:.3f}: cross-entropy's signal is {ratio:.0f}x larger. With respect "
            f"to the logit, CE gives y_hat - y = {q['p1b_dce_dlogit3']:.2f} while MSE through the "
            f"softmax gives only {q['p1b_dmse_dlogit3']:.4f}: MSE's gradient vanishes as the softmax "
            "saturates, which is why a confidently wrong network learns slowly under MSE and CE "
            "is the right loss for classification.\n\n**C.** `CrossEntropyLoss` takes logits and "
            "applies log-softmax itself (numerically stable log-sum-exp), so a Softmax layer in the "
            f"model would apply it twice.\n\n**Training.** {s['parameters']:,} parameters, Adam lr "
            f"1e-3, batch 64, {epochs} epochs on the 50,000 training images: test accuracy "
            f"**{f['test/acc']:.4f}**."
        ),
        commands=[s["command"]],
        tables=[
            markdown_table(["quantity", "MSE", "cross-entropy"], rows),
            markdown_table(["split", "loss", "accuracy"], acc_rows),
        ],
        images=[out / "run" / "curves.png"],
        metrics={"test_acc": f["test/acc"], "p1a": q["p1a_cross_entropy"]},
    )


def p2(budget: Budget, out: Path) -> Answer:
    epochs = "3" if budget.quick else "10"
    s = run_command(["autoencoder", "--epochs", epochs, "--seed", str(budget.seed)], out / "run")
    mse = s["final"]["test/loss"]
    return Answer(
        text=(
            "**A.** (a) `nn.MSELoss()` (b) `model.train()` (c) flatten: "
            "`images.view(images.size(0), -1)` (d) `loss_fn(x_hat, x)`: the target is the input "
            "itself (e) `loss.backward()` (f) `optimizer.step()` (g) `optimizer.zero_grad()`.\n\n"
            "**B.** The model learns to compress each 784-pixel image into a 2-number code and "
            "to rebuild the image from it: an unsupervised, nonlinear dimensionality reduction. "
            "MSE fits because the output is a grid of pixel intensities to be matched, a "
            "regression target, not a class. "
            f"After {epochs} epochs (Adam lr 1e-3) the test reconstruction MSE is **{mse:.4f}**; "
            "the grids show blurry but recognisable digits (a 2-d code cannot keep the details), "
            "and the latent scatter shows digits forming clusters although no label was used."
        ),
        commands=[s["command"]],
        images=[out / "run" / "reconstructions.png", out / "run" / "latent.png"],
        metrics={"test_mse": mse},
    )


QUESTIONS = [
    Question(
        "hw3",
        "P1",
        "MNIST classification and the cross-entropy questions",
        p1,
        seconds_quick=40,
        seconds_full=90,
    ),
    Question(
        "hw3", "P2", "Autoencoder for MNIST reconstruction", p2, seconds_quick=30, seconds_full=90
    ),
]
