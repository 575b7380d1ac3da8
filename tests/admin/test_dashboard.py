"""The admin dashboard: pending per site, decisions per moderator per Vietnam day, the share of
automatic decisions, moderators overriding each model version; charts and tables, escaping,
bad input. The figures come from SQL on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from sqlalchemy import select

from service import dashboard_stats as stats
from service.accounts import create_site, create_user
from service.storage import Article, Comment, CommentStatus, ModerationAction, User
from service.storage.tables import utcnow
from tests.test_review import PASSWORD, csrf, login, ui  # noqa: F401 - the ui fixture

URL = "/admin/dashboard"
XSS_NAME = '<script>alert("x")</script>'


def admin(app):  # noqa: ANN001, ANN201
    c = app.test_client()
    assert login(c, "quantri").status_code == 302
    c.post("/lang", data={"lang": "en", "next": URL,
                          "csrf_token": csrf(c.get("/login").get_data(as_text=True))})
    return c


def scores(top: str, p: float = 0.8) -> dict:
    rest = (1 - p) / 3
    return {"scores": {c: (p if c == top else rest) for c in stats.CATEGORIES},
            "flags": []}


class Seeder:
    """Comments and audit rows written straight to the database, at chosen times."""

    def __init__(self, session, site_id: int) -> None:  # noqa: ANN001
        self.s = session
        self.site_id = site_id
        article = Article(site_id=site_id, external_id="tin-1", title="Giao thông Hà Nội")
        session.add(article)
        session.flush()
        self.article_id = article.id

    def comment(self, status: str, received: datetime, decided: datetime | None = None,
                version: str | None = None, analysis: dict | None = None,
                flags: str | None = None) -> Comment:
        c = Comment(site_id=self.site_id, article_id=self.article_id, author_name="Lan",
                    author_email="lan@example.vn", body_original="Ý kiến của bạn đọc",
                    status=status, received_at=received, analysed_at=received,
                    decided_at=decided, model_version=version, analysis=analysis,
                    flags=flags)
        self.s.add(c)
        self.s.flush()
        return c

    def action(self, comment: Comment, actor: str, to_status: str, at: datetime,
               reason: str | None = None, user_id: int | None = None,
               from_status: str = CommentStatus.pending) -> None:
        self.s.add(ModerationAction(comment_id=comment.id, actor=actor, user_id=user_id,
                                    from_status=from_status, to_status=to_status,
                                    reason=reason, created_at=at))

    def decided(self, status: str, actor: str, at: datetime, reason: str | None = None,
                user_id: int | None = None, version: str | None = None,
                analysis: dict | None = None) -> Comment:
        c = self.comment(status, at - timedelta(minutes=5), at, version, analysis)
        self.action(c, actor, status, at, reason, user_id)
        return c


def vn_midnight_today() -> datetime:
    today = utcnow().astimezone(stats.VIETNAM).date()
    return datetime.combine(today, time(0), tzinfo=stats.VIETNAM)


def test_window_is_vietnam_days() -> None:
    # 18:00 UTC on 23 Nov is 01:00 on 24 Nov in Hanoi.
    window = stats.Window.ending(datetime(2026, 11, 23, 18, 0, tzinfo=stats.UTC), length=3)
    assert [d.isoformat() for d in window.days] == ["2026-11-22", "2026-11-23", "2026-11-24"]
    assert window.start == datetime(2026, 11, 21, 17, 0, tzinfo=stats.UTC)


def test_figures_from_sql(ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    site_a, site_b = keys["a"][0], keys["b"][0]
    midnight = vn_midnight_today()
    now = utcnow()
    with sessions() as s:
        mod = s.scalar(select(User.id).where(User.username == "bientap_a"))
        a, b = Seeder(s, site_a), Seeder(s, site_b)
        # Pending: on site A, the oldest five hours old; none on site B.
        for hours in (5, 2, 1):
            a.comment(CommentStatus.pending, now - timedelta(hours=hours))
        b.comment(CommentStatus.approved, now - timedelta(days=40), now - timedelta(days=40))
        # Moderator decisions around Vietnam midnight: 23:30 yesterday and 00:30 today.
        a.decided(CommentStatus.approved, "bientap_a", midnight - timedelta(minutes=30),
                  user_id=mod)
        a.decided(CommentStatus.rejected, "bientap_a", midnight + timedelta(minutes=30),
                  "spam", user_id=mod)
        a.decided(CommentStatus.approved, "bientap_a", midnight + timedelta(minutes=40),
                  user_id=mod)
        b.decided(CommentStatus.approved, "quantri", midnight + timedelta(minutes=50))
        # Not decisions of a person, or outside the window.
        a.decided(CommentStatus.auto_rejected, "system:wordlists", midnight + timedelta(hours=1))
        a.decided(CommentStatus.auto_approved, "system:policy", midnight + timedelta(hours=1))
        a.decided(CommentStatus.auto_approved, "system:policy", midnight + timedelta(hours=2))
        # An automatic rejection a moderator reversed: both decisions were made.
        reversed_ = a.decided(CommentStatus.auto_rejected, "system:classifier",
                              midnight + timedelta(hours=1))
        a.action(reversed_, "bientap_a", CommentStatus.approved, midnight + timedelta(hours=2),
                 user_id=mod, from_status=CommentStatus.auto_rejected)
        reversed_.status = CommentStatus.approved
        undone = a.decided(CommentStatus.pending, "bientap_a", midnight + timedelta(hours=3),
                           "undo", user_id=mod)
        undone.decided_at = None
        # Back in the queue: younger than the 5-hour-old one whatever the time of day now.
        undone.received_at = now - timedelta(hours=1)
        a.decided(CommentStatus.approved, "bientap_a", midnight - timedelta(days=20),
                  user_id=mod)
        s.commit()
        window = stats.Window.ending(utcnow())
        today, yesterday = window.days[-1], window.days[-2]

        pending = {p.name: p for p in stats.pending_by_site(s)}
        # (the undone decision put its comment back in the queue)
        assert pending["Báo A"].pending == 4 and pending["Báo B"].pending == 0
        assert pending["Báo B"].oldest is None
        age = pending["Báo A"].age(utcnow())
        assert timedelta(hours=5) <= age < timedelta(hours=5, minutes=1)

        counts = stats.decision_counts(s, window)
        people = stats.decisions_per_moderator(counts)
        assert [(p.actor, p.total) for p in people] == [("bientap_a", 4), ("quantri", 1)]
        lan = people[0]
        assert lan.approved == {yesterday: 1, today: 2} and lan.rejected == {today: 1}
        only_a = stats.decisions_per_moderator(stats.decision_counts(s, window, site_a))
        assert [p.actor for p in only_a] == ["bientap_a"]

        days = {d.day: d for d in stats.decisions_per_day(counts, window)}
        assert len(days) == 14
        assert (days[today].auto_approved, days[today].auto_rejected,
                days[today].approved, days[today].rejected) == (2, 2, 3, 1)
        assert days[today].automatic_rate == 4 / 8
        assert days[yesterday].automatic_rate == 0.0
        assert days[window.days[0]].automatic_rate is None  # nothing decided that day
        assert stats.decisions_per_day(stats.decision_counts(s, window, site_b),
                                       window)[-1].by_moderators == 1


def test_overrides_per_model_version(ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    site_a, site_b = keys["a"][0], keys["b"][0]
    now = utcnow()
    with sessions() as s:
        a, b = Seeder(s, site_a), Seeder(s, site_b)

        def decided(status: str, top: str, reason: str | None = None, version: str = "v1",
                    seeder: Seeder = a) -> Comment:
            return seeder.decided(status, "bientap_a", now - timedelta(hours=1), reason,
                                  version=version, analysis=scores(top))

        decided(CommentStatus.approved, "clean")                    # agrees
        decided(CommentStatus.approved, "spam")                     # approved though flagged
        decided(CommentStatus.rejected, "clean", "spam: quảng cáo")  # rejected though clean
        decided(CommentStatus.rejected, "offensive", "hate")        # another category
        decided(CommentStatus.rejected, "clean", "duplicate")       # says nothing: apart
        decided(CommentStatus.rejected, "hate", "hate", version="v2")  # agrees
        decided(CommentStatus.approved, "offensive", seeder=b)      # site B: approved, flagged
        # The model's flag in the flags column is what it said; without the column (older
        # rows), the classifier phase's stored label, else the scores.
        flagged = a.comment(CommentStatus.approved, now, now, version="v2",
                            analysis=scores("clean"), flags=" phone spam ")
        a.action(flagged, "bientap_a", CommentStatus.approved, now)
        not_flagged = a.comment(CommentStatus.rejected, now, now, version="v2",
                                analysis=scores("spam"), flags=" link ")
        a.action(not_flagged, "bientap_a", CommentStatus.rejected, now, "offensive")
        a.decided(CommentStatus.approved, "bientap_a", now, version="v2",
                  analysis={"phases": {"classifier": {"label": "hate"}}})
        # Scored but not decided by a person; and a comment no model scored.
        a.comment(CommentStatus.pending, now, version="v1", analysis=scores("spam"))
        a.decided(CommentStatus.auto_rejected, "system:classifier", now, version="v1",
                  analysis=scores("spam", 0.99))
        a.decided(CommentStatus.approved, "bientap_a", now)
        # Analysed before the window: not counted.
        a.decided(CommentStatus.approved, "bientap_a", now - timedelta(days=100),
                  version="v0", analysis=scores("spam"))
        # A rejection undone and decided again: the latest reason counts.
        again = decided(CommentStatus.rejected, "clean", "offensive", version="v2")
        a.action(again, "bientap_a", CommentStatus.pending, now, "undo",
                 from_status=CommentStatus.rejected)
        a.action(again, "bientap_a", CommentStatus.rejected, now + timedelta(seconds=1),
                 "duplicate")
        s.commit()

        since = now - timedelta(days=stats.OVERRIDE_DAYS)
        versions = {v.version: v for v in stats.override_rates(s, since)}
        assert set(versions) == {"v1", "v2"}
        v1 = versions["v1"]
        assert (v1.scored, v1.decided, v1.approved_flagged, v1.rejected_clean,
                v1.other_category, v1.other_reasons) == (8, 5, 2, 1, 1, 1)
        assert v1.override_rate == 3 / 5
        v2 = versions["v2"]
        assert (v2.scored, v2.decided, v2.approved_flagged, v2.rejected_clean,
                v2.other_reasons) == (5, 4, 2, 1, 1)
        assert v2.override_rate == 3 / 4
        v1_a = {v.version: v for v in stats.override_rates(s, since, site_a)}["v1"]
        assert (v1_a.decided, v1_a.approved_flagged) == (4, 1)


def test_dashboard_page(ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    site_a = keys["a"][0]
    now = utcnow()
    with sessions() as s:
        evil = create_site(s, XSS_NAME)
        user, _ = create_user(s, "<img src=x onerror=alert(1)>", "moderator", PASSWORD)
        s.flush()
        a, e = Seeder(s, site_a), Seeder(s, evil.site.id)
        e.comment(CommentStatus.pending, now - timedelta(days=2, hours=3))
        a.decided(CommentStatus.approved, "bientap_a", now - timedelta(minutes=1),
                  version="<b>v9</b>", analysis=scores("spam"))
        e.decided(CommentStatus.rejected, user.username, now - timedelta(minutes=2), "spam",
                  user_id=user.id)
        a.decided(CommentStatus.auto_approved, "system:policy", now - timedelta(minutes=3))
        s.commit()
    c = admin(app)
    r = c.get(URL)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>v9" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "style=" not in html
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    # Four charts, each an image with a title and a description, and each a table beside it.
    charts = re.findall(r'<svg [^>]*role="img" aria-labelledby="([\w-]+)-title \1-desc"', html)
    assert charts == ["chart-pending", "chart-moderators", "chart-automatic", "chart-overrides"]
    for chart in charts:
        assert f'<title id="{chart}-title">' in html and f'<desc id="{chart}-desc">' in html
    assert html.count("<table") == 4
    # The figures, in the tables.
    evil_row = re.search(r'<tr data-site="\d+"><th scope="row"><bdi>&lt;script.*?</tr>', html,
                         re.S).group(0)
    assert '<td class="num">1</td>' in evil_row and "2 d 3 h" in evil_row
    mod_row = re.search(r'<tr data-moderator="&lt;img.*?</tr>', html, re.S).group(0)
    assert mod_row.count('<td class="num">1</td>') >= 2  # today, and in the totals
    rate = re.search(r'<tr data-version="&lt;b&gt;v9&lt;/b&gt;">.*?<td class="num" data-rate>'
                     r"([^<]+)</td>", html, re.S).group(1)
    assert rate == "100.0 %"  # approved although the model said spam
    today = utcnow().astimezone(stats.VIETNAM).date().isoformat()
    day_row = re.search(rf'<tr data-day="{today}">.*?</tr>', html, re.S).group(0)
    assert day_row.endswith('<td class="num">33.3 %</td></tr>')
    # Filtered by a site: its own decisions only.
    page = c.get(f"{URL}?site={site_a}").get_data(as_text=True)
    assert 'data-moderator="bientap_a"' in page and 'data-moderator="&lt;img' not in page


def test_bad_input_and_access(ui) -> None:  # noqa: ANN001, F811
    app, _ = ui
    c = admin(app)
    for query, status in (("?site=abc", 400), ("?site=999999", 404), ("?site=-1", 400)):
        r = c.get(URL + query)
        assert r.status_code == status and r.mimetype == "text/html"
    assert "The site must be given by its number." in c.get(URL + "?site=abc").get_data(
        as_text=True)
    assert c.get(URL + "?site=").status_code == 200
    m = app.test_client()
    login(m, "bientap_a")
    assert m.get(URL).status_code == 403
    assert app.test_client().get(URL).status_code == 302


def test_empty_dashboard_in_vietnamese(ui) -> None:  # noqa: ANN001, F811
    app, _ = ui
    c = app.test_client()
    login(c, "quantri")
    r = c.get(URL)
    assert r.status_code == 200 and '<html lang="vi">' in r.get_data(as_text=True)
