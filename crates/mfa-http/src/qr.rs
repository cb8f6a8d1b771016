//! QR codes rendered in-process, so the secret never leaves the server.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use qrcode::QrCode;
use qrcode::render::svg;

/// A `data:image/svg+xml;base64,…` URI of a QR code encoding `text`.
pub fn svg_data_uri(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = QrCode::new(text.as_bytes())?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        STANDARD.encode(image)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_an_svg_data_uri() {
        let uri =
            svg_data_uri("otpauth://totp/A:b?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=A")
                .unwrap();
        let payload = uri.strip_prefix("data:image/svg+xml;base64,").unwrap();
        let svg = String::from_utf8(STANDARD.decode(payload).unwrap()).unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.contains("<path") || svg.contains("<rect"));
    }
}
