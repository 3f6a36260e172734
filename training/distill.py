"""Moved: the distillation is the top-level script ``distill.py`` (beside train.py). Kept for one release so that
``python -m training.distill`` says where it went."""
import sys

if __name__ == "__main__":
    sys.exit("error: python -m training.distill has moved: run python distill.py with the same flags")
