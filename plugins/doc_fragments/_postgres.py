# Copyright: galaxyops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This is a private doc fragment of the galaxyops.infrastructure collection.
# Its content may change, or it may be removed, at any time and without notice.
# Do not use it from outside this collection.

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by the collection's PostgreSQL modules
    # (argument spec: plugins/module_utils/_postgres.py, postgres_common_argument_spec()).
    DOCUMENTATION = r"""
options:
  login_user:
    description:
      - The role this module connects as.
      - It must own the objects, be a superuser or hold the privileges with grant option
        (or switch to such a role with O(session_role)).
      - Defaults to the E(PGUSER) environment variable of the module, else V(postgres).
    type: str
    default: postgres
  login_password:
    description:
      - The password of O(login_user). Leave empty for peer, trust or C(.pgpass) authentication;
        libpq then also reads E(PGPASSWORD) and E(PGPASSFILE).
    type: str
    default: ''
  login_host:
    description:
      - Host name or address of the PostgreSQL server.
      - Empty means E(PGHOST) if set, else a Unix socket (O(login_unix_socket), else libpq's default directory).
    type: str
    default: ''
  login_unix_socket:
    description:
      - Directory holding the server's Unix socket, used when O(login_host) is empty or V(localhost).
    type: str
    default: ''
  login_port:
    description:
      - Server port (also selects the socket file in O(login_unix_socket)).
      - Defaults to the E(PGPORT) environment variable of the module, else V(5432).
    type: int
    default: 5432
    aliases: [port]
  login_db:
    description:
      - Database to connect to; table, sequence, schema and function grants apply inside it.
      - Defaults to the E(PGDATABASE) environment variable of the module, else V(postgres).
    type: str
    default: postgres
  session_role:
    description:
      - Switch to this role (C(SET ROLE)) right after connecting; grants are then made as this role.
      - O(login_user) must be a member of it.
    type: str
  ssl_mode:
    description:
      - Whether and how TLS is negotiated; see U(https://www.postgresql.org/docs/current/libpq-ssl.html).
      - Defaults to the E(PGSSLMODE) environment variable of the module, else V(prefer).
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - File of certificate authority certificates that the server certificate must chain to.
    type: path
    aliases: [ssl_rootcert]
  ssl_cert:
    description:
      - Client certificate file.
    type: path
  ssl_key:
    description:
      - Private key of O(ssl_cert).
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the connection.
    type: int
    default: 30
  connect_params:
    description:
      - "Further libpq connection parameters, for example V(options: -c statement_timeout=60000)."
      - They are passed last and take precedence over the options above.
      - The values of V(password) and V(sslpassword) are hidden from the module's output.
    type: dict
    default: {}
  driver:
    description:
      - The Python PostgreSQL driver. V(auto) uses psycopg2 when it is installed (it imports about five times
        faster), else psycopg 3.
    type: str
    default: auto
    choices: [auto, psycopg2, psycopg]
requirements:
  - psycopg2 2.7 or later (C(python3-psycopg2) on Debian) or psycopg 3.1 or later (C(python3-psycopg)),
    on the host that runs the module
  - Python 3.7 or later on that host (what ansible-core 2.17 requires of targets)
notes:
  - With the defaults the module connects as C(postgres) over the local socket; run it with
    C(become_user=postgres) for peer authentication.
  - The options are those of the community.postgresql modules (O(login_port) with its alias O(port),
    O(session_role), O(connect_params)), so one set of C(module_defaults) or one YAML anchor serves both.
"""
