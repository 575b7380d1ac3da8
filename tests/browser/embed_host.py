"""A news site's article page on an origin of its own (another port than vimod), serving
the one embed tag under a strict CSP that allows vimod and nothing inline; and the steps
a reader takes in the embedded form."""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from service.public import captcha

HOST_CSS = "vimod-comments { --vimod-accent: rgb(1, 2, 3); }\n"


class HostSite:
    """http://127.0.0.1:<port>: pages put() by the test, each served with a CSP that lets
    only `vimod` (the script's origin) run script, style, images, media and fetches."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.vimod = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                if path == "/host.css":
                    self._send(200, "text/css", HOST_CSS, {})
                elif path in site.pages:
                    self._send(200, "text/html; charset=utf-8", site.pages[path],
                               {"Content-Security-Policy": site.csp()})
                else:
                    self._send(404, "text/plain", "not found", {})

            def _send(self, status: int, mimetype: str, text: str, headers: dict) -> None:
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", mimetype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:  # noqa: ANN002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"

    def csp(self) -> str:
        v = self.vimod
        return (f"default-src 'none'; script-src {v}; style-src 'self' {v}; "
                f"img-src {v} data:; media-src {v}; connect-src {v}; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'none'")

    def start(self) -> HostSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def put(self, path: str, public_key: str, article_id: str = "tin-1", **data: str) -> str:
        """An article page embedding the form; data become data-* attributes (max_length →
        data-max-length). Returns the page's URL."""
        attrs = {
            "site": public_key, "article-id": article_id,
            "article-url": f"{self.origin}{path}", "article-title": "Tỉnh lộ 712 được nâng cấp",
            "target": "#binh-luan",
            **{k.replace("_", "-"): v for k, v in data.items()},
        }
        tag = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in attrs.items())
        self.pages[path] = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Tin tỉnh</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/host.css"></head>
<body><h1>Tỉnh lộ 712 được nâng cấp</h1><p>Nội dung bài báo.</p>
<div id="binh-luan"></div>
<script src="{self.vimod}/embed.js" async {tag}></script>
</body></html>"""
        return self.origin + path


class Reader:
    """What a person does in the embedded form (Playwright locators reach into the open
    shadow root)."""

    def __init__(self, page, redis) -> None:  # noqa: ANN001
        self.page, self.redis = page, redis
        self.host = page.locator("vimod-comments")

    def open(self, url: str) -> Reader:
        self.page.goto(url)
        self.wait_for_challenge()
        return self

    def wait_for_challenge(self) -> str:
        image = self.host.locator("img.captcha-image")
        image.wait_for(state="visible")
        self.page.wait_for_function(  # the picture itself, not only the element
            "() => { const i = document.querySelector('vimod-comments').shadowRoot"
            ".querySelector('img.captcha-image'); return i.complete && i.naturalWidth > 0; }")
        return self.challenge_id()

    def challenge_id(self) -> str:
        src = self.host.locator("img.captcha-image").get_attribute("src")
        return src.rsplit("/", 1)[1].removesuffix(".png")

    def answer(self, challenge_id: str | None = None) -> str:
        """Read where the server keeps it (service/public/captcha.py)."""
        raw = self.redis.get(captcha.KEY.format(challenge_id or self.challenge_id()))
        return json.loads(raw)["a"]

    def field(self, label: str):  # noqa: ANN201
        return self.page.get_by_label(label)

    def fill(self, name: str = "Nguyễn Thị Lan", email: str = "lan@example.vn",
             body: str | None = "Con đường này sửa mãi không xong, mong tỉnh làm nhanh.",
             solve: bool = True) -> None:
        self.field("Họ tên").fill(name)
        self.field("Email").fill(email)
        if body is not None:
            self.field("Nội dung bình luận").fill(body)
        if solve:
            self.field("Mã xác nhận").fill(self.answer().upper())

    def submit(self) -> None:
        self.page.get_by_role("button", name="Gửi bình luận").click()

    def status(self):  # noqa: ANN201
        return self.host.locator("p.status")

    def error_of(self, control_id: str):  # noqa: ANN201
        return self.host.locator(f"#vimod-{control_id}-error")
