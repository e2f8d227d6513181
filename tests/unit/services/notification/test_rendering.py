"""Templates: every built-in renders, and a bad template is refused naming its part."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.notification.domain.catalog import EVENT_TYPES
from argosy.services.notification.rendering import LOCALES, Parts, Renderer, context

R = Renderer()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", sorted(EVENT_TYPES))
def test_every_builtin_validates_and_renders(event: str, locale: str) -> None:
    for channel in ("email", "sms", "inapp"):
        parts = R.builtin(event, channel, locale)
        R.validate(event, parts)
        out = R.render(parts, EVENT_TYPES[event].sample_context())
        assert out.subject
        assert out.body
        assert (out.html is not None) == (channel == "email")


def test_zh_cn_is_chinese_and_locales_fall_back() -> None:
    zh = R.render(R.builtin("order_filled", "email", "zh-CN"),
                  EVENT_TYPES["order_filled"].sample_context())
    assert zh.subject.startswith("成交")
    assert R.locale("zh") == "zh-CN"
    assert R.locale("zh-TW") == "zh-CN"
    assert R.locale("fr-FR") == "en"
    assert R.locale(None) == "en"


@pytest.mark.parametrize(("parts", "field", "words"), [
    (Parts("{{ nope }}", "b"), "subject", "nope"),
    (Parts("s", "{% if %}"), "body", "syntax error"),
    (Parts("s", "{% if side == 'sell' %}{{ pnl }}{% endif %}"), "body", "pnl"),  # branch
    (Parts("s", "b", "<p>{{ price }</p>"), "html", "syntax error"),
    (Parts("s", "{{ price.digits }}"), "body", "does not render"),
    (Parts("s", "{{ ''.__class__.__mro__ }}"), "body", "unsafe"),
    (Parts("s", "{{ 'x' * 100000 }}"), "body", "too large"),
    (Parts("s", "{% for i in range(10) %}{% endfor %}"), "body", "range"),
    (Parts("s", "{% for a in side %}{% for b in side %}{% for c in side %}{% endfor %}"
                "{% endfor %}{% endfor %}"), "body", "nest"),
    (Parts("{{ '' }}", "b"), "subject", "empty"),
])
def test_bad_templates_are_refused_naming_the_part(parts: Parts, field: str, words: str) -> None:
    with pytest.raises(Invalid) as err:
        R.validate("order_filled", parts)
    assert err.value.field == field
    assert words in err.value.message


def test_html_is_escaped_text_is_not_and_subjects_are_one_line() -> None:
    ctx = context("order_rejected", "warning", {"reason": "<b>no</b> & more", "side": "buy"},
                  at="2026-01-01T00:00:00Z", app_name="Argosy", base_url="http://x/")
    out = R.render(Parts("Rejected\r\nBcc: evil@example.com {{ side }}",
                         "{{ reason }}", "<p>{{ reason }}</p>"), ctx)
    assert out.body == "<b>no</b> & more"
    assert out.html == "<p>&lt;b&gt;no&lt;/b&gt; &amp; more</p>"
    assert "\n" not in out.subject
    assert "\r" not in out.subject
    assert ctx["base_url"] == "http://x"


def test_context_fills_every_declared_variable() -> None:
    ctx = context("order_filled", "info", {"price": "1", "unrelated": "x"}, at="t",
                  app_name="A", base_url="u")
    assert set(EVENT_TYPES["order_filled"].variables) <= set(ctx)
    assert ctx["quantity"] == ""
    assert "unrelated" not in ctx
