"""Mutation scores per package, from mutmut's results (make mutate):

    .venv/bin/mutmut results --all true | python -m studies.mutation_scores

A Markdown table: per package, killed, survived, timed out (counted as killed: the mutant made the tests hang),
no tests (no selected test reaches the function), not run yet, and the score killed / (killed + survived).
docs/mutation.md keeps the table and the surviving mutants' verdicts (a test that kills it, or why it is
equivalent).
"""
import argparse
import collections
import re
import sys

# a package before the one holding it: a mutant counts in the most specific
PACKAGES = ("losses", "models.released", "models", "utils.faces.metrics", "inference.stylization")
LINE = re.compile(r"^\s*(?P<name>[\w.]+)__mutmut_\d+: (?P<status>.+)$")


def package(name: str) -> str:
    return next((p for p in PACKAGES if name == p or name.startswith(p + ".")), "other")


def scores(lines) -> dict:
    table = collections.defaultdict(collections.Counter)
    for line in lines:
        m = LINE.match(line)
        if m:
            table[package(m["name"])][m["status"].strip()] += 1
    return table


def markdown(table: dict) -> str:
    rows = ["| package | killed | timed out | survived | no tests | not run | score |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for p in (*PACKAGES, "other"):
        c = table.get(p)
        if not c:
            continue
        killed = c["killed"] + c["timeout"]
        judged = killed + c["survived"]
        score = f"{100 * killed / judged:.0f} %" if judged else "–"
        rows.append(f"| `{p}` | {c['killed']} | {c['timeout']} | {c['survived']} | {c['no tests']} | "
                    f"{c['not checked']} | {score} |")
    return "\n".join(rows)


def main(argv=None) -> None:
    argparse.ArgumentParser(description="Scores per package from `mutmut results --all true` on standard input, as "
                                        "docs/mutation.md's table.").parse_args(argv)
    print(markdown(scores(sys.stdin)))


if __name__ == "__main__":
    main()
