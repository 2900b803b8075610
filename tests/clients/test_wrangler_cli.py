"""wrangler itself runs here: the pinned version, with no network beyond the emulator."""


def test_the_pinned_wrangler_runs(wrangler):
    run = wrangler("--version")
    assert run.stdout.strip().endswith("4.78.0"), run.output
