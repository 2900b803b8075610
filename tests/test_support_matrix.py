"""The support claim is what CI tests: requires_ansible admits exactly the ansible-core lines the matrix runs
(constraints/ansible-core-<line>.txt, plus the shared .venv's line), with no gap, and the README's table
names those lines with the Python each lock declares."""
import pathlib
import re

import ansible.release
import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent


def _line(version):
    return tuple(int(part) for part in version.split(".")[:2])


def _locks():
    locks = {}
    for path in (REPO / "constraints").glob("ansible-core-*.txt"):
        text = path.read_text()
        line = _line(path.stem.split("-")[-1])
        pinned = re.search(r"^ansible-core==(\S+)$", text, re.M).group(1)
        assert _line(pinned) == line, "%s pins ansible-core %s" % (path.name, pinned)
        locks[line] = re.search(r"^# python: (\S+)$", text, re.M).group(1)
    return locks


def test_requires_ansible_admits_from_the_oldest_tested_line_and_every_line_up_is_tested():
    requires = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["requires_ansible"]
    match = re.fullmatch(r">=(\d+)\.(\d+)\.0", requires)
    assert match, "requires_ansible %r: a lower bound only (ansible-lint's meta-runtime)" % requires
    tested = set(_locks()) | {_line(ansible.release.__version__)}
    oldest, newest = min(tested), max(tested)
    assert (int(match[1]), int(match[2])) == oldest
    assert tested == {(oldest[0], minor) for minor in range(oldest[1], newest[1] + 1)}, "a line in between is untested"


def test_the_readme_table_lists_the_tested_lines_and_pythons():
    readme = (REPO / "README.md").read_text()
    rows = dict(re.findall(r"^\| (2\.\d+) \| (3\.\d+) \|", readme, re.M))
    expected = {"%d.%d" % line: python for line, python in _locks().items()}
    expected["%d.%d" % _line(ansible.release.__version__)] = "3.11"
    assert rows == expected
