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
      - It must own the objects, be a superuser or hold the privileges with grant option.
    type: str
    default: postgres
  login_password:
    description:
      - The password of O(login_user). Leave empty for peer, trust or C(.pgpass) authentication.
    type: str
    default: ''
  login_host:
    description:
      - Host name or address of the PostgreSQL server.
      - Empty means a Unix socket (O(login_unix_socket), else libpq's default directory).
    type: str
    default: ''
  login_unix_socket:
    description:
      - Directory holding the server's Unix socket, used when O(login_host) is empty or V(localhost).
    type: str
    default: ''
  port:
    description:
      - Server port (also selects the socket file in O(login_unix_socket)).
    type: int
    default: 5432
  login_db:
    description:
      - Database to connect to; table, sequence, schema and function grants apply inside it.
    type: str
    default: postgres
  ssl_mode:
    description:
      - Whether and how TLS is negotiated; see U(https://www.postgresql.org/docs/current/libpq-ssl.html).
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - File of certificate authority certificates that the server certificate must chain to.
    type: path
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
requirements:
  - psycopg2 (C(python3-psycopg2) on Debian) on the host that runs the module
notes:
  - With the defaults the module connects as C(postgres) over the local socket; run it with
    C(become_user=postgres) for peer authentication.
"""
