"""JupyterHub configuration of the local course hub (`make hub`, `hub/run_hub.py`).

Read by ``jupyterhub -f hub/jupyterhub_config.py``. Every value that changes from one run to the
next (ports, state folder, accounts, passwords) comes from the JSON file named by
``$RNNCOURSE_HUB_SETTINGS``, which ``hub/run_hub.py`` writes into the hub's state folder; nothing is
read from the repository at run time except this file.

Local-demo settings (see deploy/README.md for what a multi-user hub does instead):

- ``SharedPasswordAuthenticator``: one password for the students, another for the instructor (an
  admin), and only the listed accounts may log in. A real hub uses the institution's login
  (OAuthenticator, LTI from the LMS, LDAP).
- ``SimpleLocalProcessSpawner``: every single-user server is a local process of the *same* OS user,
  with ``$HOME`` set to ``<state>/home/<name>``; no isolation between users, and the servers need
  ``--allow-root`` when that user is root. A real hub spawns one container per user
  (KubeSpawner) or one OS account per user (LocalProcessSpawner + PAM / SystemdSpawner).
- Everything listens on loopback only.
"""

from __future__ import annotations

import json
import os

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

settings_path = os.environ.get("RNNCOURSE_HUB_SETTINGS")
if not settings_path:
    raise SystemExit("jupyterhub_config.py: start the course hub with hub/run_hub.py (`make hub`), which "
                     "writes the settings file and sets $RNNCOURSE_HUB_SETTINGS")
with open(settings_path) as fh:
    s = json.load(fh)
state = s["state"]

# Network: the public proxy port, the proxy's REST API and the hub itself, all on loopback.
c.JupyterHub.bind_url = f"http://{s['ip']}:{s['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{s['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [s["proxy_command"]]
c.ConfigurableHTTPProxy.pid_file = os.path.join(state, "proxy.pid")

# The hub's own state: all of it in the state folder (one `rm -rf` resets the hub).
c.JupyterHub.db_url = f"sqlite:///{os.path.join(state, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(state, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(state, "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every single-user server
c.JupyterHub.cleanup_proxy = True

# Accounts: the instructor is the hub's admin; students log in with the students' password.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = s["student_password"]
c.SharedPasswordAuthenticator.admin_password = s["instructor_password"]
c.Authenticator.admin_users = {s["instructor"]}
c.Authenticator.allowed_users = set(s["students"]) | {s["instructor"]}

# Single-user servers: JupyterLab from the course's virtual environment, one home per account.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(state, "home", "{username}")
c.Spawner.cmd = [os.path.join(s["venv_bin"], "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    # nbgrader runs `alembic` by name, and kernels must find the course's packages.
    "PATH": os.pathsep.join([s["venv_bin"], os.environ.get("PATH", "/usr/bin:/bin")]),
    "MPLBACKEND": "Agg",
    # Marks every process of this hub, so that the launcher can stop whatever is left by PID.
    "RNNCOURSE_HUB_STATE": state,
}
# A busy machine (CI, two cores) can take a while to start JupyterLab.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.last_activity_interval = 60
