"""Server-side request forgery: webhooks go only to public addresses in production."""

from __future__ import annotations

import socket

import pytest

from integrations.models import DeliveryState, WebhookDelivery
from integrations.outbound import UnsafeTarget, post, target_check
from integrations.webhooks import delivery_deliver, endpoint_send_test

PUBLIC = "93.184.215.14"
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """Names the test decides the answers for; everything else resolves for real."""
    answers: dict[str, list[str]] = {}

    def fake(host, port, *args, **kwargs):
        if host in answers:
            family = {True: socket.AF_INET6, False: socket.AF_INET}
            return [(family[":" in a], socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    return settings


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.8.9.10/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://[fe80::1]/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        # IPv6 forms that lead to a private IPv4 address, and old private IPv6 ranges.
        "https://[64:ff9b::10.0.0.7]/hook",  # NAT64 (a DNS64 resolver's answer)
        "https://[64:ff9b::169.254.169.254]/latest/meta-data/",
        "https://[64:ff9b:1::a00:7]/hook",  # a network's own NAT64 prefix
        "https://[2002:a00:7::1]/hook",  # 6to4 of 10.0.0.7
        "https://[2002:7f00:1::1]/hook",  # 6to4 of 127.0.0.1
        "https://[::ffff:0:a00:7]/hook",  # IPv4-translated 10.0.0.7
        "https://[::10.0.0.7]/hook",  # IPv4-compatible (deprecated)
        "https://[fec0::1]/hook",  # site-local (deprecated, private)
    ],
)
def test_loopback_private_link_local_and_metadata_addresses_are_refused(production, url):
    with pytest.raises(UnsafeTarget, match="private, local or reserved"):
        target_check(url)


def test_a_name_that_dns64_translates_to_a_private_address_is_refused(production, dns):
    dns["intranet.example.com"] = ["64:ff9b::a00:7"]
    with pytest.raises(UnsafeTarget, match="private"):
        target_check("https://intranet.example.com/in")
    # A public IPv4 address through NAT64 or 6to4 is as good as the address itself.
    dns["hooks.example.com"] = ["64:ff9b::5db8:d70e", "2002:5db8:d70e::1"]
    assert target_check("https://hooks.example.com/in").address == "64:ff9b::5db8:d70e"


def test_a_name_that_resolves_to_a_private_address_is_refused(production, dns):
    dns["hooks.example.com"] = [PUBLIC, "10.0.0.7"]  # one bad answer is enough
    with pytest.raises(UnsafeTarget, match="private"):
        target_check("https://hooks.example.com/in")


def test_a_public_name_is_accepted_and_pinned_to_its_checked_address(production, dns):
    dns["hooks.example.com"] = [PUBLIC]
    target = target_check("https://hooks.example.com:8443/in?x=1")
    assert (target.address, target.port, target.path) == (PUBLIC, 8443, "/in?x=1")
    assert target.host_header == "hooks.example.com:8443"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/in", "https://"),
        ("ftp://hooks.example.com/in", "https://"),
        ("https://user:pw@hooks.example.com/in", "passwords"),
        ("https://:99999/in", "not a valid URL"),
        ("https://no-such-host.invalid/in", "could not be found"),
    ],
)
def test_other_unusable_urls_are_refused_with_a_reason(production, dns, url, message):
    dns["hooks.example.com"] = [PUBLIC]
    with pytest.raises(UnsafeTarget, match=message):
        target_check(url)


def test_local_development_may_use_loopback_over_http(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    assert target_check("http://127.0.0.1:9000/hook").address == "127.0.0.1"
    with pytest.raises(UnsafeTarget):
        target_check("https://10.1.2.3/hook")  # private networks stay refused


def test_local_development_may_use_ipv6_loopback_too(settings, dns):
    # "localhost" resolves to ::1 as well as 127.0.0.1 on many machines (macOS, Debian
    # with IPv6); every address must be allowed, so ::1 must be loopback, not "reserved".
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    dns["localhost"] = ["::1", "127.0.0.1"]
    assert target_check("http://localhost:9000/hook").address == "::1"
    assert target_check("http://[::1]:9000/hook").address == "::1"
    with pytest.raises(UnsafeTarget):
        target_check("https://[::10.0.0.7]/hook")  # the rest of ::/8 stays refused


@pytest.mark.django_db
def test_every_delivery_checks_the_address_again(endpoint, receiver, settings):
    # Saved while allowed; by delivery time the URL is no longer acceptable.
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    delivery = endpoint_send_test(endpoint=endpoint)
    delivery_deliver(delivery_id=delivery.pk)
    delivery = WebhookDelivery.objects.get(pk=delivery.pk)
    assert delivery.state == DeliveryState.FAILED
    assert "private, local or reserved" in delivery.last_error
    assert receiver.attempts == []  # nothing was sent


@pytest.mark.django_db
def test_a_setup_form_refuses_a_private_url(host_client, production, dns):
    dns["intranet.example.com"] = ["192.168.0.10"]
    response = host_client.post(
        "/setup/integration/webhooks/",
        {"url": "https://intranet.example.com/hook", "events": ["booking.created"]},
    )
    assert response.status_code == 400
    assert "private, local or reserved" in response.content.decode()
    assert not host_client.get("/setup/integration/webhooks/").context["endpoints"]


def test_the_answer_is_read_only_up_to_a_cap_and_redirects_are_not_followed(settings):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            seen.append(self.path)
            self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/big":
                self.send_response(200)
                self.send_header("Content-Length", str(50_000_000))
                self.end_headers()
                self.wfile.write(b"x" * 1_000_000)  # far more than is read; never finished
            else:
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    try:
        port = server.server_address[1]
        big = post(
            target=target_check(f"http://127.0.0.1:{port}/big"),
            headers={},
            body=b"{}",
            timeout=2,
            max_bytes=4096,
        )
        moved = post(
            target=target_check(f"http://127.0.0.1:{port}/moved"),
            headers={},
            body=b"{}",
            timeout=2,
            max_bytes=4096,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert big.status == 200
    assert len(big.excerpt) == 500
    assert moved.status == 302
    assert seen == ["/big", "/moved"]  # /elsewhere was never asked for


def test_check_deploy_warns_while_loopback_targets_are_allowed(settings):
    from integrations.checks import webhook_targets_check

    settings.WEBHOOK_ALLOW_LOOPBACK = True
    assert [m.id for m in webhook_targets_check(None)] == ["integrations.W001"]
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    assert webhook_targets_check(None) == []


def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_timeout(settings):
    # Each byte comes before a socket timeout would fire, so only a deadline for the
    # whole attempt ends it (it held the worker 22 s with a 1 s timeout before).
    import threading
    import time

    settings.WEBHOOK_ALLOW_LOOPBACK = True
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 30:
                if done.is_set():
                    return
                try:
                    connection.send(bytes([byte]))
                except OSError:  # the sender hung up
                    return
                time.sleep(0.2)

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    try:
        answer = post(
            target=target_check(f"http://127.0.0.1:{listener.getsockname()[1]}/hook"),
            headers={},
            body=b"{}",
            timeout=1,
            max_bytes=4096,
        )
    finally:
        done.set()
        listener.close()
    assert time.monotonic() - started < 3
    assert (answer.status, answer.error) == (None, "timed out")
