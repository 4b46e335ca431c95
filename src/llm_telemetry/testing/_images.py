"""The OpenAI images API for the fake provider: ``images.generate`` and ``images.edit``, JSON or streamed.

The SDK sends ``POST /v1/images/generations`` (a JSON body) and ``POST /v1/images/edits`` (a multipart
form: its body is not JSON, so a streamed edit is scripted with :class:`ImagesStream` rather than read
from the request). Shapes:

- https://platform.openai.com/docs/api-reference/images/object: the images response, and its ``usage``
  for the GPT image models (DALL-E reports none);
- https://platform.openai.com/docs/api-reference/images-streaming: ``image_generation.partial_image`` /
  ``image_generation.completed`` events (``image_edit.*`` for edits), usage on the completed one only.

Standard library only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TypeAlias

from ._wire import JSONDict, _Body, _json, _named_event, _Request, _Stream

__all__ = ["Images", "ImagesStream", "images_usage"]

#: A 1x1 transparent PNG: what every image of the fake provider looks like.
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def images_usage(text: int, image: int = 0, output: int = 4160) -> JSONDict:
    """A GPT image model's ``usage``: input is the prompt's text tokens plus the input images' tokens,
    output the generated image's tokens (4160 is a 1024x1024 image at high quality)."""
    return {
        "input_tokens": text + image,
        "input_tokens_details": {"text_tokens": text, "image_tokens": image},
        "output_tokens": output,
        "total_tokens": text + image + output,
    }


@dataclass(frozen=True, slots=True)
class Images:
    """An images response with ``n`` base64 images; ``usage`` None leaves it out, as DALL-E's responses do."""

    usage: JSONDict | None = field(default_factory=lambda: images_usage(50))
    n: int = 1
    size: str = "1024x1024"
    quality: str = "high"


@dataclass(frozen=True, slots=True)
class ImagesStream:
    """A streamed generation (or edit, by the request's path): ``partial_images`` partial-image events,
    then the completed event carrying ``usage``. ``die_after=N`` cuts the stream after N events."""

    usage: JSONDict | None = field(default_factory=lambda: images_usage(50))
    partial_images: int = 1
    size: str = "1024x1024"
    quality: str = "high"
    die_after: int | None = None


IMAGES_REPLIES = (Images, ImagesStream)
ImagesReply: TypeAlias = Images | ImagesStream


def route(path: str) -> str | None:
    """``images.generate`` or ``images.edit`` for the images API's paths."""
    if path.endswith("/images/generations"):
        return "images.generate"
    if path.endswith("/images/edits"):
        return "images.edit"
    return None


def default_reply(req: _Request) -> ImagesReply:
    return ImagesStream() if req.stream else Images()


def _common(size: str, quality: str) -> JSONDict:
    return {"background": "opaque", "output_format": "png", "quality": quality, "size": size}


def render(reply: ImagesReply, req: _Request) -> _Body | _Stream:
    if isinstance(reply, Images):
        body: JSONDict = {
            "created": int(time.time()),
            "data": [{"b64_json": PIXEL} for _ in range(reply.n)],
            **_common(reply.size, reply.quality),
        }
        if reply.usage is not None:
            body["usage"] = reply.usage
        return _json(body)
    kind = "image_edit" if req.route == "images.edit" else "image_generation"
    common = {**_common(reply.size, reply.quality), "b64_json": PIXEL, "created_at": int(time.time())}
    events = [
        _named_event(
            f"{kind}.partial_image", {**common, "type": f"{kind}.partial_image", "partial_image_index": i}
        )
        for i in range(reply.partial_images)
    ]
    done: JSONDict = {**common, "type": f"{kind}.completed"}
    if reply.usage is not None:
        done["usage"] = reply.usage
    events.append(_named_event(f"{kind}.completed", done))
    return _Stream(events, reply.die_after)
