import sys
from pathlib import Path

# staffkit and the hostile-bundle corpus of tests/crypto/staff, when that directory is not the rootdir's.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "staff"))
sys.path.insert(0, str(Path(__file__).parent))  # casekit
