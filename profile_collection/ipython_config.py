# IPython configuration of this profile: keep IPython's own files out of the repository.
import os
from pathlib import Path

c = get_config()  # noqa: F821 (IPython defines get_config in config files)

_state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "autoscope"
_state.mkdir(parents=True, exist_ok=True)
# the command history (history.sqlite) lives under the user's state directory
c.HistoryManager.hist_file = str(_state / "ipython_history.sqlite")
