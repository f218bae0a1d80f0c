"""bricksort: an edge-device LEGO sorter (capture, retrain, sort)."""
from setuptools import find_packages, setup

DEVICE = [
    "numpy>=1.23",
    "opencv-python-headless>=4.8",
    "pyserial>=3.5",
    "tqdm>=4.60",
    # ai-edge-litert is tflite-runtime's maintained successor; tflite-runtime 2.14 only
    # works beside numpy<2 (see docs/DESIGN.md), so it is not pulled in here.
    "ai-edge-litert>=2.0",
]
WORKSTATION = DEVICE + [
    "tensorflow-cpu>=2.16; platform_machine == 'x86_64'",
    "tensorflow>=2.16; platform_machine != 'x86_64'",
    "tensorboard>=2.16",
    "matplotlib>=3.7",
    "pillow>=10",
]
PI = DEVICE + [
    # picamera2 is best installed from apt on Raspberry Pi OS (python3-picamera2);
    # this extra is for venvs created without --system-site-packages.
    "picamera2>=0.3",
]
# pytest-xdist: the suite runs on every core (up to 4); most of a test's time is one thread tracing graphs.
DEV = WORKSTATION + ["pytest>=7", "pytest-timeout>=2", "pytest-xdist>=3.2"]

setup(
    name="bricksort",
    version="0.1.0",
    description="Edge-device LEGO sorter: turntable capture, MobileNet retraining, real-time TFLite sorting",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["bricksort*", "trainer*", "device*", "firmware_bridge*"]),
    package_data={"firmware_bridge": ["examples/*.toml"], "device": ["examples/*.toml"]},
    install_requires=["pyserial>=3.5", "numpy>=1.23", "tqdm>=4.60"],
    extras_require={
        "device": DEVICE,
        "workstation": WORKSTATION,
        "pi": PI,
        "dev": DEV,
    },
    entry_points={"console_scripts": ["bricksort=bricksort.cli:main"]},
)
