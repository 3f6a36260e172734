"""Where a run came from, recorded in its options.json and in every checkpoint: the code's git commit (and whether
the work tree had uncommitted changes), the command line, torch's version, and the device (the GPU's name, or the
CPU's model and the instruction-set flags that decide its fast paths)."""
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile", "avx512_vnni", "neon", "asimd")


def git_state(repo: Path = REPO) -> dict:
    """{"commit": sha or None, "dirty": bool or None}: None where git or the repository is missing."""
    def git(*args):
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else None
    try:
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def cpu_description() -> dict:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and ":" in line:
                model = line.split(":", 1)[1].strip()
            elif line.startswith(("flags", "Features")) and ":" in line:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {"cpu": model, "cpu_flags": [f for f in CPU_FLAGS if f in flags]}


def provenance(device) -> dict:
    import torch

    where = {"device": str(device)}
    if getattr(device, "type", str(device)) == "cuda":
        where["gpu"] = torch.cuda.get_device_name(device)
    else:
        where.update(cpu_description())
    return {**git_state(), "command": [Path(sys.argv[0]).name, *sys.argv[1:]], "torch": str(torch.__version__),
            "python": platform.python_version(), **where}
