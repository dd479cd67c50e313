"""Which program runs for which image: the rules of netlab.images.catalog.resolve."""

from __future__ import annotations

import dataclasses

import pytest

from netlab.errors import EXIT_INVALID, NetlabError
from netlab.images.catalog import ImageError, Program, image_path, resolve

PY = "/usr/bin/python3"
BUILTIN = (PY, "-m", "netlab.images")


def run(image, command=None, args=None, ports=()):
    return resolve(image, command, args, list(ports), PY)


@pytest.mark.parametrize("image, path", [
    ("registry.k8s.io/e2e-test-images/agnhost:2.47", "e2e-test-images/agnhost"),
    ("k8s.gcr.io/e2e-test-images/agnhost:2.39", "e2e-test-images/agnhost"),
    ("docker.io/library/nginx:1.25", "nginx"),
    ("library/nginx", "nginx"),
    ("nginx", "nginx"),
    ("nginx@sha256:" + "a" * 64, "nginx"),
    ("nginx:1.25@sha256:" + "b" * 64, "nginx"),
    ("curlimages/curl", "curlimages/curl"),
    ("localhost:5000/team/app:v1", "team/app"),
    ("localhost/app", "app"),
    ("ghcr.io/org/tool:latest", "org/tool"),
])
def test_image_path_drops_registry_tag_and_digest(image, path):
    assert image_path(image) == path


def test_program_is_frozen_and_image_error_is_an_invalid_input_error():
    program = run("busybox", ["sleep", "1"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        program.argv = ()  # type: ignore[misc]
    assert issubclass(ImageError, NetlabError) and ImageError.exit_code == EXIT_INVALID


# --- agnhost -----------------------------------------------------------------------------------

def test_agnhost_without_command_or_args_runs_its_cmd_pause():
    assert run("registry.k8s.io/e2e-test-images/agnhost:2.47") == Program(
        BUILTIN + ("agnhost", "pause"), True, "agnhost pause (built-in)")


def test_agnhost_args_go_to_the_agnhost_entrypoint():
    program = run("registry.k8s.io/e2e-test-images/agnhost:2.47",
                  args=["netexec", "--http-port=8080", "--udp-port", "8081"])
    assert program.argv == BUILTIN + ("agnhost", "netexec", "--http-port=8080", "--udp-port",
                                      "8081")
    assert program.builtin and program.description == "agnhost netexec (built-in)"


@pytest.mark.parametrize("entrypoint", ["/agnhost", "agnhost", "/agnhost-2"])
def test_agnhost_command_naming_agnhost_is_the_built_in(entrypoint):
    program = run("k8s.gcr.io/e2e-test-images/agnhost:2.39", [entrypoint, "serve-hostname"],
                  ["--port=9376"])
    assert program.argv == BUILTIN + ("agnhost", "serve-hostname", "--port=9376")
    assert program.description == "agnhost serve-hostname (built-in)"


def test_agnhost_command_alone_prints_help_like_the_real_binary():
    # command replaces ENTRYPOINT *and* drops the image's CMD, so /agnhost gets no arguments.
    program = run("agnhost", ["/agnhost"])
    assert program.argv == BUILTIN + ("agnhost",)
    assert program.description == "agnhost help (built-in)"


def test_agnhost_with_another_command_runs_it_on_the_host():
    program = run("registry.k8s.io/e2e-test-images/agnhost:2.47", ["/bin/sh", "-c"],
                  ["echo hi; sleep 5"])
    assert program == Program(("/bin/sh", "-c", "echo hi; sleep 5"), False,
                              "host command: /bin/sh")


def test_agnhost_klog_flags_before_the_subcommand_are_allowed():
    program = run("agnhost", args=["--v", "2", "connect", "10.0.0.1:80"])
    assert program.description == "agnhost connect (built-in)"


@pytest.mark.parametrize("subcommand", ["dns-suffix", "dns-server-list", "etc-hosts", "pause",
                                        "connect", "netexec", "serve-hostname"])
def test_every_built_in_agnhost_subcommand_resolves(subcommand):
    assert run("agnhost", args=[subcommand]).builtin


def test_unsupported_agnhost_subcommand_names_the_supported_ones():
    with pytest.raises(ImageError) as failure:
        run("registry.k8s.io/e2e-test-images/agnhost:2.47", args=["liveness"])
    message = str(failure.value)
    assert "'liveness'" in message
    for name in ("netexec", "serve-hostname", "pause", "connect"):
        assert name in message


def test_old_serve_hostname_image_runs_agnhost_serve_hostname():
    program = run("k8s.gcr.io/serve_hostname:1.1", args=["--udp", "--http=false"])
    assert program.argv == BUILTIN + ("agnhost", "serve-hostname", "--udp", "--http=false")


# --- pause -------------------------------------------------------------------------------------

@pytest.mark.parametrize("image", ["registry.k8s.io/pause:3.9", "k8s.gcr.io/pause", "pause"])
def test_pause_is_coreutils_sleep(image):
    assert run(image) == Program(("sleep", "infinity"), True, "pause (built-in: sleep infinity)")


def test_pause_args_are_ignored_like_the_real_pause_binary():
    assert run("pause", args=["whatever"]).argv == ("sleep", "infinity")


def test_pause_with_a_command_runs_the_command():
    assert run("pause", ["sleep", "10"]).argv == ("sleep", "10")


# --- web images ----------------------------------------------------------------------------------

@pytest.mark.parametrize("image, port", [
    ("docker.io/library/nginx:1.25", 80), ("httpd:2.4", 80), ("caddy", 80),
    ("traefik/whoami", 80), ("hashicorp/http-echo", 5678), ("kennethreitz/httpbin", 80),
    ("gcr.io/google-samples/hello-app:1.0", 8080), ("registry.k8s.io/echoserver:1.10", 8080),
    ("bitnami/nginx:latest", 8080), ("nginxinc/nginx-unprivileged", 8080),
])
def test_web_image_without_ports_serves_its_default_port(image, port):
    program = run(image)
    assert program.argv == BUILTIN + ("web", "--port", f"{port}/TCP")
    assert program.builtin and program.description == f"built-in web server on {port}/TCP"


def test_web_image_serves_its_default_port_and_every_declared_port():
    program = run("nginx", ports=[(8080, "TCP"), (80, "TCP"), (5353, "UDP")])
    assert program.argv == BUILTIN + ("web", "--port", "80/TCP", "--port", "8080/TCP",
                                      "--port", "5353/UDP")


def test_web_image_with_a_command_still_gets_the_built_in_server():
    program = run("nginx", ["nginx", "-g", "daemon off;"], ports=[(80, "TCP")])
    assert program.argv == BUILTIN + ("web", "--port", "80/TCP")
    assert "not run" in program.description


def test_http_echo_listen_and_text_flags_are_honoured():
    program = run("hashicorp/http-echo:1.0", args=["-listen=:9090", "-text", "hello world"])
    assert program.argv == BUILTIN + ("web", "--port", "9090/TCP", "--text", "hello world")


def test_sctp_ports_are_listed_as_not_served():
    program = run("nginx", ports=[(80, "TCP"), (9999, "SCTP")])
    assert program.argv == BUILTIN + ("web", "--port", "80/TCP")
    assert "not served: 9999/SCTP" in program.description


# --- client images -------------------------------------------------------------------------------

@pytest.mark.parametrize("image, default", [
    ("busybox:1.36", ("sh",)), ("alpine:3.19", ("/bin/sh",)), ("ubuntu:22.04", ("/bin/bash",)),
    ("debian:12", ("bash",)), ("nicolaka/netshoot", ("sh",)),
    ("registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7", ("sh",)),
    ("tutum/dnsutils", ("sh",)), ("infoblox/dnstools", ("sh",)),
])
def test_client_image_without_command_runs_its_default_shell(image, default):
    assert run(image) == Program(default, False, f"host command: {default[0]}")


def test_client_image_command_and_args_run_as_given():
    program = run("busybox", ["/bin/sh", "-c"], ["wget -qO- http://web"])
    assert program == Program(("/bin/sh", "-c", "wget -qO- http://web"), False,
                              "host command: /bin/sh")


def test_client_image_args_alone_replace_its_cmd():
    assert run("busybox", args=["sleep", "3600"]).argv == ("sleep", "3600")


@pytest.mark.parametrize("args, argv", [
    (None, ("curl",)),
    (["-s", "http://web"], ("curl", "-s", "http://web")),
    (["http://web.default.svc"], ("curl", "http://web.default.svc")),
    (["web.default.svc"], ("curl", "web.default.svc")),
    (["curl", "-sv", "http://web"], ("curl", "-sv", "http://web")),
    (["sh", "-c", "sleep 1"], ("sh", "-c", "sleep 1")),
    (["/bin/sleep", "10"], ("/bin/sleep", "10")),
])
def test_curl_image_puts_curl_in_front_of_arguments_that_are_not_commands(args, argv):
    assert run("curlimages/curl:8.5.0", args=args).argv == argv


def test_curl_image_command_runs_as_given():
    assert run("curlimages/curl", ["sleep"], ["infinity"]).argv == ("sleep", "infinity")


def test_network_multitool_serves_http_by_default_and_runs_a_given_command():
    assert run("praqma/network-multitool").argv == BUILTIN + ("web", "--port", "80/TCP")
    assert run("wbitt/network-multitool", ["sleep", "infinity"]).argv == ("sleep", "infinity")


# --- unknown images ------------------------------------------------------------------------------

def test_unknown_image_with_ports_gets_the_web_server_on_them():
    program = run("example.com/team/shop:v2", ports=[(8080, "TCP"), (53, "udp")])
    assert program == Program(BUILTIN + ("web", "--port", "8080/TCP", "--port", "53/UDP"), True,
                              "built-in web server on 8080/TCP, 53/UDP")


def test_a_port_without_protocol_is_tcp():
    assert run("team/shop", ports=[(8080, "")]).argv == BUILTIN + ("web", "--port", "8080/TCP")


def test_unknown_image_with_a_command_runs_it_even_with_ports():
    program = run("python:3.12", ["python3", "-m", "http.server", "8000"], ports=[(8000, "TCP")])
    assert program == Program(("python3", "-m", "http.server", "8000"), False,
                              "host command: python3")


def test_unknown_image_with_args_only_runs_them():
    assert run("team/tool", args=["sleep", "60"]).argv == ("sleep", "60")


def test_unknown_image_with_nothing_to_run_is_an_image_error():
    with pytest.raises(ImageError) as failure:
        run("team/tool:1.0")
    assert str(failure.value) == (
        "image team/tool:1.0: netlab cannot pull images; give the container a command, "
        "or declare containerPorts to get the built-in web server")


def test_unknown_image_with_only_sctp_ports_is_an_image_error():
    with pytest.raises(ImageError, match="9999/SCTP"):
        run("team/tool", ports=[(9999, "SCTP")])


def test_empty_image_is_an_image_error():
    with pytest.raises(ImageError):
        run("")
