"""The HTML parse mode port, checked against tdlib's own test vectors (test/message_entities.cpp)."""

from __future__ import annotations

import pytest

from emulator.htmltext import HtmlParseError, parse_html, utf16_len
from emulator.validation import check_message_text

STADIUM = "🏟 🏟"  # 9 UTF-8 bytes per emoji pair + space: the byte offsets below count them


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        (f"{STADIUM}&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        (f"{STADIUM}&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        (f"{STADIUM}&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        (
            f"{STADIUM}&lt;<i    aba>",
            'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
        ),
        (f"{STADIUM}&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        (
            f"{STADIUM}&lt;<i    aba  =  190azAz-.,",
            "Unexpected end of name token at byte offset 27",
        ),
        (f'{STADIUM}&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        (f"{STADIUM}&lt;</", "Unexpected end tag at byte offset 13"),
        (f"{STADIUM}&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        (f"{STADIUM}&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            f"{STADIUM}&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<p>paragraph</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("line<br>break", 'Unsupported start tag "br" at byte offset 4'),
        ("&#xDFDF;", "Text contains invalid Unicode characters after decoding HTML entities"),
    ],
)
def test_malformed_html_is_rejected_with_tdlib_wording(html: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(html)
    assert str(caught.value).startswith(error)


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("", "", []),
        ("➡️ ➡️<i>➡️ ➡️</i>", "➡️ ➡️➡️ ➡️", [("italic", 5, 5)]),
        ("➡️ ➡️<strong>➡️ ➡️</strong>", "➡️ ➡️➡️ ➡️", [("bold", 5, 5)]),
        ("➡️ ➡️<ins>➡️ ➡️</ins>", "➡️ ➡️➡️ ➡️", [("underline", 5, 5)]),
        ("➡️ ➡️<del>➡️ ➡️</del>", "➡️ ➡️➡️ ➡️", [("strikethrough", 5, 5)]),
        (f"{STADIUM}<i>🏟 &lt🏟</i>", "🏟 🏟🏟 <🏟", [("italic", 5, 6)]),
        (
            f"{STADIUM}<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>",
            "🏟 🏟🏟 ><🏟",
            [("italic", 5, 7), ("bold", 9, 3)],
        ),
        (f"{STADIUM}&lt;<i    aba  =  190azAz-.   >a</i>", "🏟 🏟<a", [("italic", 6, 1)]),
        (f"{STADIUM}&lt;<i>🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", [("italic", 6, 6)]),
        (f"{STADIUM}&lt;<b></b>", "🏟 🏟<", []),
        ("<tg-spoiler>s</tg-spoiler>", "s", [("spoiler", 0, 1)]),
        ('<span class="tg-spoiler">s</span>', "s", [("spoiler", 0, 1)]),
        ("<blockquote>q</blockquote>", "q", [("blockquote", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ("😀<b>x</b>", "😀x", [("bold", 2, 1)]),
    ],
)
def test_valid_html_gives_text_and_entities(
    html: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed_text, parsed = parse_html(html)
    assert parsed_text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed] == entities


def test_links_pre_code_and_custom_emoji_carry_their_arguments() -> None:
    text, entities = parse_html(
        '<a href="https://example.org/?a=1&amp;b=2">link</a> '
        "<a href=telegram.org>t</a> "
        '<a href="tg://user?id=1001">Amina</a> '
        '<pre><code class="language-python">print(1)</code></pre> '
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    assert text == "link t Amina print(1) 👍"
    by_type = {e["type"]: e for e in entities}
    links = [e["url"] for e in entities if e["type"] == "text_link"]
    assert links == ["https://example.org/?a=1&b=2", "http://telegram.org/"]
    assert by_type["text_mention"]["user"]["id"] == 1001
    assert by_type["pre"]["language"] == "python"
    assert by_type["custom_emoji"]["custom_emoji_id"] == "5368324170671202286"


def test_bare_ampersand_is_an_error_by_default_but_telegram_mode_keeps_it() -> None:
    with pytest.raises(HtmlParseError, match=r'Character "&" must be escaped'):
        parse_html("Roads & Bridges")
    text, _ = parse_html("&lt;&gt;&amp;&quot;&laquo;&#65;", strict_ampersand=False)
    assert text == '<>&"&laquo;A'


def test_text_length_counts_utf16_code_units_after_parsing() -> None:
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b") == 4
    # 2048 emoji are 4096 UTF-16 units: the limit exactly.
    assert check_message_text("<b>" + "😀" * 2048 + "</b>", "HTML").text == "😀" * 2048
    with pytest.raises(Exception, match="message is too long"):
        check_message_text("😀" * 2048 + "a", None)


def test_surrounding_whitespace_is_trimmed_and_entities_follow() -> None:
    formatted = check_message_text("\n  <b>hi</b> there \n", "HTML")
    assert formatted.text == "hi there"
    assert formatted.entities == [{"type": "bold", "offset": 0, "length": 2}]
    with pytest.raises(Exception, match="message text is empty"):
        check_message_text("<b> </b>\n", "HTML")
