from scripts.split_lock import split

PROD = """#    make lock-api
fastapi==0.165.0 \\
    --hash=sha256:aa
    # via -r requirements/api.in
"""
DEV = """#    make lock-api
#
fastapi==0.165.0 \\
    --hash=sha256:aa
    # via
    #   -c requirements/api.txt
pytest==9.2.0 \\
    --hash=sha256:bb \\
    --hash=sha256:cc
    # via -r requirements/api-dev.in

# WARNING: pip
"""


def test_the_dev_lock_refers_to_production_instead_of_repeating_it():
    out = split(DEV, PROD, "api.txt")
    assert "fastapi" not in out and "sha256:aa" not in out and "-c requirements/api.txt" not in out
    assert "pytest==9.2.0 \\\n    --hash=sha256:bb \\\n    --hash=sha256:cc\n" in out
    assert out.index("-r api.txt") < out.index("pytest==") and out.startswith("#    make lock-api")
    assert out.rstrip().endswith("# WARNING: pip")
    assert split(out, PROD, "api.txt") == out  # running it again changes nothing
