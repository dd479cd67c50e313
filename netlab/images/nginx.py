"""The nginx image given its configuration as a volume: the host's real nginx, run as the
official image runs it.

`nginx` (docker.io/library/nginx) with a volume mounted at /etc/nginx/conf.d, and the
tutorial image `bprashanth/nginxhttps` (kubernetes/examples' https-nginx: the official image
plus a script that starts nginx), run the nginx binary scripts/setup.sh installs, on a main
configuration of netlab's that is the official image's /etc/nginx/nginx.conf with its paths
moved: `include /etc/nginx/conf.d/*.conf` (in the container's mount namespace: the volume),
the pid file and temp paths in the container's own directory under the pod's state, the error
log on stderr and the access log on stdout (the image links its log files there), one worker.
The document root /usr/share/nginx/html is the image's: its `index.html` ("Welcome to
nginx!", as nginx ships it) mounted there for the container alone. Nothing is written to the
host's /etc/nginx, /run/nginx.pid or /var/log/nginx.

The official image without such a volume keeps netlab's built-in web server (catalog.py):
its default server answers with the pod's name, which the Service tutorials rely on.
"""

from __future__ import annotations

import os
import posixpath
import sys

CONF_D = "/etc/nginx/conf.d"
DOCUMENT_ROOT = "/usr/share/nginx/html"
ALWAYS = ("bprashanth/nginxhttps",)  # images whose whole point is nginx on a mounted config
OFFICIAL = ("nginx",)  # image paths (catalog.image_path) of the official image

# nginx's html/index.html, as the official image ships it at /usr/share/nginx/html.
INDEX_HTML = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

FIFTY_X_HTML = """<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
</body>
</html>
"""


def runs_nginx(container) -> bool:
    """Whether this container runs the real nginx (see the module's docstring)."""
    from netlab.images.catalog import image_path

    path = image_path(container.image)
    if container.command:
        return False
    if path in ALWAYS:
        return True
    return path in OFFICIAL and any(posixpath.normpath(m.mountPath) == CONF_D for m in container.volumeMounts)


def container_dir(pod_dir: str, container) -> str:
    return os.path.join(pod_dir, f"nginx-{container.name}")


def image_mounts(container, pod_dir: str) -> tuple[tuple[str, str, bool], ...]:
    """The image's own files: its document root, unless a volume is mounted there."""
    if not runs_nginx(container):
        return ()
    if any(posixpath.normpath(m.mountPath) == DOCUMENT_ROOT for m in container.volumeMounts):
        return ()
    return ((os.path.join(container_dir(pod_dir, container), "html"), DOCUMENT_ROOT, True),)


def prepare(container, pod_dir: str) -> None:
    """The image's document root, written before the container starts (its mount source)."""
    if not runs_nginx(container):
        return
    html = os.path.join(container_dir(pod_dir, container), "html")
    os.makedirs(html, mode=0o755, exist_ok=True)
    for name, text in (("index.html", INDEX_HTML), ("50x.html", FIFTY_X_HTML)):
        with open(os.path.join(html, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(html, name), 0o644)


def main_config(directory: str, mime_types: str | None) -> str:
    """The official image's nginx.conf, its paths in `directory` (pure)."""
    temp = os.path.join(directory, "tmp")
    types = f"    include       {mime_types};" if mime_types else "    types { text/html html htm; text/css css; application/javascript js; image/png png; }"
    return "\n".join([
        "# netlab: the official nginx image's /etc/nginx/nginx.conf, with its paths in the container's directory.",
        "daemon off;",
        "worker_processes  1;",
        "error_log  stderr notice;",
        f"pid        {os.path.join(directory, 'nginx.pid')};",
        "",
        "events {",
        "    worker_connections  1024;",
        "}",
        "",
        "http {",
        types,
        "    default_type  application/octet-stream;",
        "",
        "    log_format  main  '$remote_addr - $remote_user [$time_local] \"$request\" '",
        "                      '$status $body_bytes_sent \"$http_referer\" '",
        "                      '\"$http_user_agent\" \"$http_x_forwarded_for\"';",
        "",
        "    access_log  /dev/stdout  main;",
        f"    client_body_temp_path {temp}/client_body;",
        f"    proxy_temp_path {temp}/proxy;",
        f"    fastcgi_temp_path {temp}/fastcgi;",
        f"    uwsgi_temp_path {temp}/uwsgi;",
        f"    scgi_temp_path {temp}/scgi;",
        "",
        "    sendfile        on;",
        "    keepalive_timeout  65;",
        "",
        f"    include {CONF_D}/*.conf;",
        "}",
        "",
    ])  # fmt: skip


def main(argv: list[str]) -> int:
    """`python -m netlab.images nginx --dir DIR`: write the main config, exec nginx."""
    if len(argv) != 2 or argv[0] != "--dir":
        print("usage: python -m netlab.images nginx --dir DIR", file=sys.stderr)
        return 2
    directory = argv[1]
    os.makedirs(os.path.join(directory, "tmp"), exist_ok=True)
    mime = "/etc/nginx/mime.types" if os.path.exists("/etc/nginx/mime.types") else None
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(main_config(directory, mime))
    sys.stdout.flush()
    os.execvp("nginx", ["nginx", "-p", directory, "-e", "stderr", "-c", conf])
    return 127  # not reached
