"""Photos leave the bot as pixels only.

A citizen's photo can carry who they are (a comment with their name, username and Telegram id, an
EXIF artist, an XMP creator, an IPTC by-line) and where they stood (EXIF GPS). Each kind is put into
real images here, the images are sent as a citizen would (as photos and as image documents), and
the bytes that reach the staff group, the agency's official and the agency's mailbox are read back:
no marker of any kind may be left, and the pixels must still be the picture (upright, in sRGB).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from PIL import Image, IptcImagePlugin, PngImagePlugin
from sqlalchemy import select

from bot.reports.photos import NotAnAcceptedImage, clean_image
from bot.roles.officials import create_invite
from emulator import SimulatedUser
from storage.models import Agency
from tests.support.agency_channels import (
    STAFF_CHAT,
    Mailbox,
    approve,
    configure_agency,
    free_port,
    staff,
)
from tests.support.conversation import expect, reference_in, text_of
from tests.support.flows import open_report, set_language
from tests.support.harness import Harness

Colour = tuple[int, int, int]
LEFT: Colour = (200, 80, 40)
RIGHT: Colour = (30, 160, 90)
SIZE = (64, 48)

# What no cleaned file may contain anywhere in its bytes.
MARKERS = (
    b"Exif",
    b"http://ns.adobe.com/xap",
    b"xmpmeta",
    b"ICC_PROFILE",
    b"Photoshop 3.0",
    b"8BIM",
    b"MPF",
    b"PhoneMaker",
)
JPEG_ALLOWED = {0xC0, 0xC1, 0xC2, 0xC4, 0xDA, 0xDB, 0xDD}  # frame, tables, scan, restart interval
PNG_ALLOWED = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
WEBP_ALLOWED = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}


# --- images that carry each kind of metadata ------------------------------------------------------


def two_tone(
    left: Colour = LEFT, right: Colour = RIGHT, size: tuple[int, int] = SIZE
) -> Image.Image:
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def swapped_icc() -> bytes:
    """A small RGB display profile (ICC v2, matrix and gamma 2.2) whose red and blue primaries
    are sRGB's blue and red: a pixel stored as (200, 80, 40) is meant as about (40, 80, 200)."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    gamma = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233) + bytes(2)
    tags = [
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    start = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        table += signature + struct.pack(">II", start + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    header = (
        struct.pack(">I", start + len(body))
        + b"lcms"
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(28)
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + table + body


def swap(colour: Colour) -> Colour:
    return (colour[2], colour[1], colour[0])


def exif_of(secret: str, orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x013B] = secret  # Artist
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (10.0, 34.0, 12.0), 3: "E", 4: (7.0, 26.0, 30.0)}  # GPS
    return exif


def xmp_of(secret: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>{secret}</dc:creator>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def with_iptc(jpeg: bytes, secret: str) -> bytes:
    """The JPEG with an APP13 Photoshop segment whose IPTC by-line and copyright name `secret`."""

    def dataset(number: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value

    iptc = dataset(80, secret.encode()) + dataset(116, b"(c) " + secret.encode())
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc + bytes(len(iptc) % 2)
    payload = b"Photoshop 3.0\x00" + resource
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def save(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


@dataclass(frozen=True)
class Sample:
    """An image with metadata, and what its cleaned copy must look like."""

    name: str
    data: bytes
    fmt: str  # the format the cleaned copy keeps
    size: tuple[int, int]
    colours: dict[tuple[int, int], Colour]  # point -> colour, as the picture is meant to be seen


def upright_two_tone(name: str, data: bytes, fmt: str, meant: tuple[Colour, Colour]) -> Sample:
    width, height = SIZE
    points = {(width // 4, height // 2): meant[0], (3 * width // 4, height // 2): meant[1]}
    return Sample(name, data, fmt, SIZE, points)


def samples(secret: str) -> dict[str, Sample]:
    """Each kind on its own, then images carrying all of them at once."""
    plain = two_tone()
    icc = swapped_icc()
    width, height = SIZE
    comment = secret.encode()
    png_text = PngImagePlugin.PngInfo()
    png_text.add_text("Author", secret)
    png_text.add_itxt("Description", secret, lang="en", tkey="Description")
    png_text.add_text("Comment", secret * 4, zip=True)
    as_stored, as_swapped = (LEFT, RIGHT), (swap(LEFT), swap(RIGHT))
    found = [
        upright_two_tone("jpeg-comment", save(plain, "JPEG", comment=comment), "JPEG", as_stored),
        upright_two_tone(
            "jpeg-exif-gps", save(plain, "JPEG", exif=exif_of(secret)), "JPEG", as_stored
        ),
        upright_two_tone("jpeg-xmp", save(plain, "JPEG", xmp=xmp_of(secret)), "JPEG", as_stored),
        upright_two_tone("jpeg-iptc", with_iptc(save(plain, "JPEG"), secret), "JPEG", as_stored),
        upright_two_tone("jpeg-icc", save(plain, "JPEG", icc_profile=icc), "JPEG", as_swapped),
        upright_two_tone("png-text", save(plain, "PNG", pnginfo=png_text), "PNG", as_stored),
        upright_two_tone(
            "png-exif", save(plain, "PNG", exif=exif_of(secret).tobytes()), "PNG", as_stored
        ),
        upright_two_tone("png-icc", save(plain, "PNG", icc_profile=icc), "PNG", as_swapped),
        upright_two_tone(
            "webp-all",
            save(
                plain,
                "WEBP",
                lossless=True,
                exif=exif_of(secret).tobytes(),
                xmp=xmp_of(secret),
                icc_profile=icc,
            ),
            "WEBP",
            as_swapped,
        ),
        upright_two_tone(
            "mpo",
            save(
                two_tone(RIGHT, LEFT),  # a picture of its own: the bot refuses the same one twice
                "MPO",
                save_all=True,
                append_images=[plain],
                exif=exif_of(secret),
                comment=comment,
            ),
            "JPEG",
            (RIGHT, LEFT),
        ),
    ]
    # A phone's portrait photo: stored on its side, EXIF orientation 6 (turn 90° clockwise), with
    # every other kind of metadata too and colours meant in another colour space.
    everything = with_iptc(
        save(
            plain,
            "JPEG",
            exif=exif_of(secret, orientation=6),
            xmp=xmp_of(secret),
            icc_profile=icc,
            comment=comment,
        ),
        secret,
    )
    portrait = {(height // 2, height // 4): swap(LEFT), (height // 2, 3 * width // 4): swap(RIGHT)}
    found.append(Sample("jpeg-everything", everything, "JPEG", (height, width), portrait))
    png_everything = PngImagePlugin.PngInfo()
    for key, value in (("Author", secret), ("Software", "PhoneMaker")):
        png_everything.add_itxt(key, value)
    found.append(
        upright_two_tone(
            "png-everything",
            save(
                plain,
                "PNG",
                pnginfo=png_everything,
                exif=exif_of(secret).tobytes(),
                icc_profile=icc,
            ),
            "PNG",
            as_swapped,
        )
    )
    found.extend(unusual_layouts(secret))
    return {sample.name: sample for sample in found}


def unusual_layouts(secret: str) -> list[Sample]:
    """Pixel layouts that need care to stay the same picture, each with some metadata."""
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", secret)
    grey = Image.new("I;16", SIZE, 40000)
    grey.paste(Image.new("I;16", (SIZE[0] // 2, SIZE[1]), 10000), (SIZE[0] // 2, 0))
    frames = [two_tone(), two_tone((0, 0, 255), (0, 255, 0))]
    as_stored = (LEFT, RIGHT)
    return [
        upright_two_tone(
            "png-16-bit-grey", save(grey, "PNG", pnginfo=text), "PNG", ((156,) * 3, (39,) * 3)
        ),
        upright_two_tone(
            "jpeg-cmyk",
            save(two_tone().convert("CMYK"), "JPEG", comment=secret.encode()),
            "JPEG",
            as_stored,
        ),
        upright_two_tone(
            "png-palette",
            save(two_tone().convert("P", palette=Image.Palette.ADAPTIVE), "PNG", pnginfo=text),
            "PNG",
            as_stored,
        ),
        upright_two_tone(
            "png-animated",
            save(frames[0], "PNG", save_all=True, append_images=frames[1:], pnginfo=text),
            "PNG",
            as_stored,
        ),
        upright_two_tone(
            "webp-animated",
            save(
                frames[0],
                "WEBP",
                save_all=True,
                append_images=frames[1:],
                lossless=True,
                exif=exif_of(secret).tobytes(),
            ),
            "WEBP",
            as_stored,
        ),
        # A profile that cannot be read: the pixels are taken as sRGB, the profile still goes.
        upright_two_tone(
            "jpeg-broken-icc",
            save(two_tone(), "JPEG", icc_profile=b"not a profile" * 20),
            "JPEG",
            as_stored,
        ),
    ]


# --- reading a file back: what it holds besides pixels --------------------------------------------


def jpeg_markers(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment from SOI to EOI, scan data skipped."""
    assert data[:2] == b"\xff\xd8", "a JPEG"
    segments: list[tuple[int, bytes]] = []
    pos = 2
    while True:
        assert data[pos] == 0xFF, f"a marker at {pos}"
        marker = data[pos + 1]
        if marker == 0xD9:
            assert pos + 2 == len(data), "nothing after the end of the image"
            return segments
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not a stuffing
            while not (data[pos] == 0xFF and data[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG"
    kinds, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kinds.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    assert kinds[-1] == b"IEND" and pos == len(data), "nothing after IEND"
    return kinds


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", "a WebP"
    assert int.from_bytes(data[4:8], "little") + 8 == len(data), "nothing after the RIFF"
    chunks, pos = [], 12
    while pos < len(data):
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        chunks.append((data[pos : pos + 4], data[pos + 8 : pos + 8 + length]))
        pos += 8 + length + length % 2
    return chunks


def assert_pixels_only(data: bytes, secrets: list[str], fmt: str) -> None:
    for secret in secrets:
        assert secret.encode() not in data, f"{secret!r} left in the file"
    for text in MARKERS:
        assert text not in data, f"{text!r} left in the file"
    if fmt == "JPEG":
        for marker, payload in jpeg_markers(data):
            if marker == 0xE0:  # the JFIF header: version, density, and no thumbnail
                assert payload[:5] == b"JFIF\x00" and payload[12:14] == b"\x00\x00"
                assert len(payload) == 14
            else:
                assert marker in JPEG_ALLOWED, f"segment 0xFF{marker:02X} left in the file"
    elif fmt == "PNG":
        kinds = set(png_chunks(data))
        assert kinds <= PNG_ALLOWED, f"chunks {kinds - PNG_ALLOWED} left in the file"
    else:
        chunks = webp_chunks(data)
        kinds = {kind for kind, _ in chunks}
        assert kinds <= WEBP_ALLOWED, f"chunks {kinds - WEBP_ALLOWED} left in the file"
        for kind, payload in chunks:
            if kind == b"VP8X":  # flags: ICC 0x20, EXIF 0x08, XMP 0x04, animation 0x02
                assert payload[0] & 0x2E == 0, "the extended header announces metadata"
    image = Image.open(io.BytesIO(data))
    assert image.format == fmt
    assert not image.getexif(), "no EXIF"
    meta = {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop", "mp"}
    assert not meta & set(image.info), f"{meta & set(image.info)} in the file"
    assert not getattr(image, "text", {}), "no PNG text"
    if fmt == "JPEG":
        assert IptcImagePlugin.getiptcinfo(image) is None, "no IPTC"
    assert getattr(image, "n_frames", 1) == 1, "one picture"


def assert_is_the_picture(data: bytes, sample: Sample) -> None:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.size == sample.size, f"{sample.name}: {image.size}, upright {sample.size}"
    for point, meant in sample.colours.items():
        got = image.getpixel(point)
        assert isinstance(got, tuple)
        assert max(abs(a - b) for a, b in zip(got, meant, strict=True)) <= 12, (
            f"{sample.name} at {point}: {got}, meant {meant}"
        )


def assert_clean(data: bytes, sample: Sample, secrets: list[str]) -> None:
    assert_pixels_only(data, secrets, sample.fmt)
    assert_is_the_picture(data, sample)


def has_its_metadata(sample: Sample) -> bool:
    """The sample really carries what it claims to (else the test proves nothing)."""
    image = Image.open(io.BytesIO(sample.data))
    return bool(
        image.getexif()
        or {"xmp", "icc_profile", "comment", "photoshop"} & set(image.info)
        or getattr(image, "text", {})
    )


# --- the cleaning itself, one kind at a time ------------------------------------------------------

SECRET = "Zainab Kabir @zainab_k tg:5551234"


@pytest.mark.parametrize("name", sorted(samples(SECRET)))
def test_cleaning_keeps_pixels_only(name: str) -> None:
    sample = samples(SECRET)[name]
    assert has_its_metadata(sample)
    cleaned = clean_image(sample.data)
    assert_clean(cleaned.content, sample, [SECRET, "Zainab", "zainab_k", "5551234"])
    assert (cleaned.width, cleaned.height) == sample.size
    assert cleaned.mime_type == f"image/{sample.fmt.lower()}"


def test_transparency_is_pixels_too() -> None:
    image = Image.new("RGBA", (20, 10), (10, 200, 30, 255))
    image.paste((0, 0, 0, 0), (10, 0, 20, 10))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", SECRET)
    for source in (image, image.convert("P")):  # full alpha, and a palette with a transparent entry
        cleaned = Image.open(io.BytesIO(clean_image(save(source, "PNG", pnginfo=info)).content))
        assert cleaned.convert("RGBA").getpixel((2, 2)) == (10, 200, 30, 255)
        assert cleaned.convert("RGBA").getpixel((15, 2))[3] == 0  # type: ignore[index]


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header claiming width x height pixels, then a little data: the file is tiny."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"x\x9c")
        + chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = save(Image.effect_noise((200, 150), 60).convert("RGB"), "JPEG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.4 not an image at all", id="not-an-image"),
        pytest.param(b"", id="empty"),
        pytest.param(truncated_jpeg(), id="truncated-jpeg"),
        pytest.param(save(two_tone(), "PNG")[:60], id="truncated-png"),
        pytest.param(save(two_tone(), "GIF"), id="gif"),
        pytest.param(bomb_png(8000, 8000), id="bomb-above-our-limit"),
        pytest.param(bomb_png(30000, 30000), id="bomb-above-pillows-limit"),
    ],
)
def test_what_is_not_a_readable_photo_is_refused(data: bytes) -> None:
    with pytest.raises(NotAnAcceptedImage):
        clean_image(data)


# --- through the bot: staff group, official, agency e-mail -----------------------------------------

MAIL_TO = "works@kaduna.example"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def harness_overrides(smtp_port: int) -> dict[str, Any]:
    return {
        "moderator_chat_id": STAFF_CHAT,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_starttls": False,
        "mail_from": "Commitment Watch <bot@commitments.example>",
    }


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield box
    controller.stop()


async def official_of_the_agency(harness: Harness) -> SimulatedUser:
    async with harness.db.read() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "kaduna-works"))
    assert agency is not None
    invite = await create_invite(harness.db, agency, harness.services.clock(), timedelta(hours=1))
    official = harness.user("en", first_name="Musa")
    await official.send_command("start", f"join_{invite.token}")
    await expect(official, "")
    return official


async def reach_photos(citizen: SimulatedUser, where: tuple[float, float] | None = None) -> None:
    """A report on KAD-RD-017 up to the photos step, with or without a location."""
    await open_report(citizen)
    await citizen.send_text("The new culvert is cracked and water pours onto the road.")
    await expect(citizen, "Where is it?")
    if where is None:
        await citizen.press_reply_button("➡️ Continue without location")
    else:
        await citizen.send_location(*where)
    await expect(citizen, "Add photos")


async def send_uploads(citizen: SimulatedUser, uploads: list[tuple[str, Sample]]) -> None:
    for count, (how, sample) in enumerate(uploads, start=1):
        if how == "photo":
            await citizen.send_photo(sample.data)
        else:
            name = f"IMG_{count:04}.{sample.fmt.lower()}"
            mime = "image/jpeg" if sample.name == "mpo" else f"image/{sample.fmt.lower()}"
            await citizen.send_document(sample.data, file_name=name, mime_type=mime)
        await expect(citizen, f"{count} photo")


async def test_photos_reach_staff_official_and_mail_as_pixels_only(
    harness: Harness, mailbox: Mailbox
) -> None:
    await configure_agency(harness, emails=[MAIL_TO])
    moderator, group = staff(harness)
    official = await official_of_the_agency(harness)
    citizen = harness.user("en", first_name="Zainab", username="zainab_k")
    secrets = ["Zainab", "zainab_k", str(citizen.id)]
    made = samples(f"Zainab Kabir @zainab_k id {citizen.id}")
    uploads = [
        ("photo", made["jpeg-everything"]),
        ("photo", made["png-everything"]),
        ("document", made["jpeg-comment"]),
        ("document", made["webp-all"]),
        ("document", made["mpo"]),
    ]
    await reach_photos(citizen, (10.5731, 7.4412))
    await send_uploads(citizen, uploads)
    await citizen.press_button("✅ Done with photos")
    await expect(citizen, "Your report")
    await citizen.press_button("✅ Send report")
    reference = reference_in(await expect(citizen, "Reference:"))

    album = await expect(group, "", timeout=15)
    assert album.kind == "media_group" and len(album.media) == len(uploads)
    for data, (_, sample) in zip(album.media, uploads, strict=True):
        assert_clean(data, sample, secrets)

    dispatcher = harness.runner.dispatcher
    card = await expect(group, reference, "waiting for review", timeout=15)
    await dispatcher.stop()
    await approve(moderator, group, reference, card)
    while await dispatcher.drain_once():
        pass

    await expect(official, reference, "Answer with the buttons", timeout=15)
    [sent] = [m for m in official.messages if m.kind == "media_group"]
    assert len(sent.media) == len(uploads)
    for data, (_, sample) in zip(sent.media, uploads, strict=True):
        assert_clean(data, sample, secrets)

    [(to, message)] = mailbox.messages
    assert to == [MAIL_TO]
    attachments = list(message.iter_attachments())
    assert len(attachments) == len(uploads)
    for attachment, (_, sample) in zip(attachments, uploads, strict=True):
        data = attachment.get_content()
        assert isinstance(data, bytes)
        assert attachment.get_content_type() == f"image/{sample.fmt.lower()}"
        assert_clean(data, sample, secrets)


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param((truncated_jpeg(), "IMG_0001.jpg", "image/jpeg"), id="truncated-jpeg"),
        pytest.param((bomb_png(8000, 8000), "huge.png", "image/png"), id="bomb"),
        pytest.param((bomb_png(30000, 30000), "huger.png", "image/png"), id="bigger-bomb"),
        pytest.param((save(two_tone(), "GIF"), "anim.gif", "image/gif"), id="gif"),
    ],
)
async def test_unreadable_image_is_refused_politely_in_the_citizens_language(
    harness: Harness, upload: tuple[bytes, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    citizen = harness.user("en")
    await reach_photos(citizen)
    await set_language(harness.db, citizen.id, "es")
    data, file_name, mime_type = upload
    await citizen.send_document(data, file_name=file_name, mime_type=mime_type)
    refusal = await expect(citizen, "Solo acepto fotos")
    assert "JPEG, PNG o WebP" in text_of(refusal)
    # Nothing was half-written: the next good photo is the first one.
    await citizen.send_photo(save(two_tone(), "PNG"))
    await expect(citizen, "1 foto")
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
