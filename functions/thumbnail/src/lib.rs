//! `thumbnail`: a realistic CPU- and memory-heavy handler — decode an image, resize it with a real filter and
//! re-encode it as PNG (the `image` crate, PNG and JPEG codecs only).
//!
//! Event (all fields optional):
//! - `image_base64`: a PNG or JPEG, base64-encoded. Without it the handler synthesises a deterministic
//!   `width` × `height` test image (defaults 640 × 480, at most 8192 each);
//! - `max_side`: the thumbnail's longest side (default 128, at most 4096); an image that already fits is only
//!   re-encoded;
//! - `filter`: `"nearest"`, `"triangle"` (default), `"catmullrom"`, `"gaussian"` or `"lanczos3"`;
//! - `return_image`: include the thumbnail as base64 (default `true`); its FNV-1a hash is always included.
//!
//! Response: `{"source": {"width", "height", "format", "bytes"}, "thumbnail": {"width", "height", "bytes",
//! "fnv1a64", "filter", "resized"}, "png_base64": "…"}`. A bad image or bad base64 is a handled error
//! (`ImageError` / `DecodeError`); an out-of-range size is `InvalidRequest`.

use std::io::Cursor;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use lambda_sim_sdk::{Context, Error};
use serde::{Deserialize, Serialize};

/// Largest synthetic image side.
const MAX_SYNTHETIC_SIDE: u32 = 8192;
/// Largest thumbnail side.
const MAX_THUMBNAIL_SIDE: u32 = 4096;

/// Resampling filter, by name.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum Filter {
    Nearest,
    #[default]
    Triangle,
    CatmullRom,
    Gaussian,
    Lanczos3,
}

impl From<Filter> for FilterType {
    fn from(filter: Filter) -> FilterType {
        match filter {
            Filter::Nearest => FilterType::Nearest,
            Filter::Triangle => FilterType::Triangle,
            Filter::CatmullRom => FilterType::CatmullRom,
            Filter::Gaussian => FilterType::Gaussian,
            Filter::Lanczos3 => FilterType::Lanczos3,
        }
    }
}

/// The event.
#[derive(Debug, Deserialize)]
struct Request {
    image_base64: Option<String>,
    #[serde(default = "default_width")]
    width: u32,
    #[serde(default = "default_height")]
    height: u32,
    #[serde(default = "default_max_side")]
    max_side: u32,
    #[serde(default)]
    filter: Filter,
    #[serde(default = "default_true")]
    return_image: bool,
}

fn default_width() -> u32 {
    640
}

fn default_height() -> u32 {
    480
}

fn default_max_side() -> u32 {
    128
}

fn default_true() -> bool {
    true
}

/// The response.
#[derive(Debug, Serialize)]
struct Response {
    source: Source,
    thumbnail: Thumbnail,
    #[serde(skip_serializing_if = "Option::is_none")]
    png_base64: Option<String>,
}

#[derive(Debug, Serialize)]
struct Source {
    width: u32,
    height: u32,
    /// `"png"`, `"jpeg"` or `"synthetic"`.
    format: &'static str,
    /// Size of the decoded input in bytes (0 for a synthetic image).
    bytes: usize,
}

#[derive(Debug, Serialize)]
struct Thumbnail {
    width: u32,
    height: u32,
    bytes: usize,
    fnv1a64: String,
    filter: Filter,
    resized: bool,
}

fn thumbnail(event: Request, _ctx: &Context) -> Result<Response, Error> {
    if event.max_side == 0 || event.max_side > MAX_THUMBNAIL_SIDE {
        return Err(Error::new(
            "InvalidRequest",
            format!(
                "max_side must be 1..={MAX_THUMBNAIL_SIDE}, got {}",
                event.max_side
            ),
        ));
    }

    let (image, format, input_bytes) = match &event.image_base64 {
        Some(encoded) => {
            let bytes = BASE64.decode(encoded.trim())?;
            let format = match image::guess_format(&bytes)? {
                ImageFormat::Png => "png",
                ImageFormat::Jpeg => "jpeg",
                other => {
                    return Err(Error::new(
                        "UnsupportedFormat",
                        format!("only PNG and JPEG are supported, got {other:?}"),
                    ));
                }
            };
            (image::load_from_memory(&bytes)?, format, bytes.len())
        }
        None => (synthesise(event.width, event.height)?, "synthetic", 0),
    };
    let (width, height) = (image.width(), image.height());

    let resized = width > event.max_side || height > event.max_side;
    let thumb = if resized {
        image.resize(event.max_side, event.max_side, event.filter.into())
    } else {
        image
    };

    let mut png = Vec::new();
    thumb.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)?;
    println!(
        "thumbnail {width}x{height} {format} -> {}x{} png ({} bytes)",
        thumb.width(),
        thumb.height(),
        png.len()
    );

    Ok(Response {
        source: Source {
            width,
            height,
            format,
            bytes: input_bytes,
        },
        thumbnail: Thumbnail {
            width: thumb.width(),
            height: thumb.height(),
            bytes: png.len(),
            fnv1a64: format!("{:016x}", fnv1a64(&png)),
            filter: event.filter,
            resized,
        },
        png_base64: event.return_image.then(|| BASE64.encode(&png)),
    })
}

/// A deterministic test picture: colour gradients, a checkerboard and concentric rings, so that resizing filters
/// have edges and smooth areas to work on.
fn synthesise(width: u32, height: u32) -> Result<DynamicImage, Error> {
    if width == 0 || height == 0 || width > MAX_SYNTHETIC_SIDE || height > MAX_SYNTHETIC_SIDE {
        return Err(Error::new(
            "InvalidRequest",
            format!("width and height must be 1..={MAX_SYNTHETIC_SIDE}, got {width}x{height}"),
        ));
    }
    let (cx, cy) = (f64::from(width) / 2.0, f64::from(height) / 2.0);
    let ring = f64::from(width.min(height)).max(8.0) / 12.0;
    let image = RgbImage::from_fn(width, height, |x, y| {
        let r = (x * 255 / width) as u8;
        let g = (y * 255 / height) as u8;
        let checker = ((x / 16) + (y / 16)).is_multiple_of(2);
        let distance = (f64::from(x) - cx).hypot(f64::from(y) - cy);
        let in_ring = ((distance / ring) as u32).is_multiple_of(2);
        let b = match (checker, in_ring) {
            (true, true) => 230,
            (true, false) => 150,
            (false, true) => 90,
            (false, false) => 20,
        };
        Rgb([r, g, b])
    });
    Ok(DynamicImage::ImageRgb8(image))
}

/// 64-bit FNV-1a, a small stable fingerprint of the output.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

lambda_sim_sdk::handler!(thumbnail);

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, testing};

    #[test]
    fn synthetic_default() {
        let body = testing::invoke(b"{}", || run(thumbnail)).json().unwrap();
        assert_eq!(body["source"]["width"], 640);
        assert_eq!(body["thumbnail"]["width"], 128);
        assert_eq!(body["thumbnail"]["height"], 96);
        let png = BASE64.decode(body["png_base64"].as_str().unwrap()).unwrap();
        assert_eq!(
            png.len() as u64,
            body["thumbnail"]["bytes"].as_u64().unwrap()
        );
        assert_eq!(image::load_from_memory(&png).unwrap().width(), 128);
    }

    #[test]
    fn round_trip_through_base64_png() {
        let first = testing::invoke(br#"{"width": 300, "height": 200, "max_side": 256}"#, || {
            run(thumbnail)
        })
        .json()
        .unwrap();
        let event = serde_json::json!({
            "image_base64": first["png_base64"],
            "max_side": 64,
            "filter": "lanczos3",
            "return_image": false,
        });
        let second = testing::invoke(&serde_json::to_vec(&event).unwrap(), || run(thumbnail))
            .json()
            .unwrap();
        assert_eq!(second["source"]["format"], "png");
        assert_eq!(second["source"]["width"], 256);
        assert_eq!(second["thumbnail"]["width"], 64);
        assert_eq!(second["thumbnail"]["height"], 43);
        assert!(second.get("png_base64").is_none());
    }

    #[test]
    fn decodes_jpeg() {
        let mut jpeg = Vec::new();
        synthesise(320, 240)
            .unwrap()
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        let event =
            serde_json::json!({ "image_base64": BASE64.encode(&jpeg), "return_image": false });
        let body = testing::invoke(&serde_json::to_vec(&event).unwrap(), || run(thumbnail))
            .json()
            .unwrap();
        assert_eq!(body["source"]["format"], "jpeg");
        assert_eq!(body["source"]["bytes"], jpeg.len());
        assert_eq!(body["thumbnail"]["width"], 128);
        assert_eq!(body["thumbnail"]["height"], 96);
    }

    #[test]
    fn errors() {
        let inv = testing::invoke(br#"{"image_base64": "!!!"}"#, || run(thumbnail));
        assert_eq!(inv.error.unwrap().error_type, "DecodeError");
        let inv = testing::invoke(br#"{"image_base64": "aGVsbG8gd29ybGQ="}"#, || {
            run(thumbnail)
        });
        assert_eq!(inv.error.unwrap().error_type, "ImageError");
        let inv = testing::invoke(br#"{"width": 0}"#, || run(thumbnail));
        assert_eq!(inv.error.unwrap().error_type, "InvalidRequest");
    }

    #[test]
    fn deterministic() {
        let a = testing::invoke(b"{}", || run(thumbnail));
        let b = testing::invoke(b"{}", || run(thumbnail));
        assert_eq!(a.response, b.response);
    }
}
