//! Generates the browser client's TypeScript mirror of this schema.
//!
//! The generated file (`client-web/src/generated/protocol.ts`) holds the protocol version, the
//! subprotocol, message tags, error and close codes, the wire tuple type of every message, and the
//! arena game's field layout, all taken from the Rust definitions. A test fails when the committed
//! file differs from [`generate`]'s output; `make bindings` rewrites it.

use crate::arena;
use crate::protocol::{ClientMsg, CloseCode, ErrorCode, ServerMsg, VariantLayout};
use crate::{PROTOCOL_VERSION, SUBPROTOCOL};
use std::fmt::Write;

/// Path of the generated file, relative to the workspace root.
pub const OUTPUT_PATH: &str = "client-web/src/generated/protocol.ts";

/// The complete TypeScript module.
pub fn generate() -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results below are ignored for that reason.
    let _ = writeln!(
        out,
        "// Generated from the Rust schema in shared/ by `make bindings`. Do not edit."
    );
    let _ = writeln!(out, "// A test fails when this file is stale.\n");
    let _ = writeln!(out, "export const PROTOCOL_VERSION = {PROTOCOL_VERSION};");
    let _ = writeln!(out, "export const SUBPROTOCOL = {SUBPROTOCOL:?};");
    let _ = writeln!(out, "export const FIELD_COUNT = {};", crate::FIELD_COUNT);
    let _ = writeln!(
        out,
        "export const MAX_NAME_BYTES = {};",
        crate::protocol::MAX_NAME_BYTES
    );
    let _ = writeln!(
        out,
        "export const MAX_CHAT_BYTES = {};\n",
        crate::protocol::MAX_CHAT_BYTES
    );

    write_tags(&mut out, "ClientTag", ClientMsg::<()>::LAYOUT);
    write_tags(&mut out, "ServerTag", ServerMsg::LAYOUT);

    let _ = writeln!(out, "export const ErrorCode = {{");
    for code in ErrorCode::ALL {
        let _ = writeln!(out, "  {}: {},", code.name(), code as u16);
    }
    let _ = writeln!(out, "}} as const;");
    let _ = writeln!(
        out,
        "export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];\n"
    );

    let _ = writeln!(out, "export const CloseCode = {{");
    for code in CloseCode::ALL {
        let _ = writeln!(out, "  {}: {},", code.name(), code as u16);
    }
    let _ = writeln!(out, "}} as const;\n");

    write_tuples(&mut out, "Client", ClientMsg::<()>::LAYOUT, Some("I"));
    write_tuples(&mut out, "Server", ServerMsg::LAYOUT, None);

    let _ = writeln!(out, "/** The arena demo game's contract. */");
    let _ = writeln!(out, "export const Arena = {{");
    let _ = writeln!(out, "  worldSize: {},", arena::WORLD_SIZE);
    let _ = writeln!(out, "  positionScale: {},", arena::POSITION_SCALE);
    let _ = writeln!(out, "  speed: {},", arena::SPEED);
    let _ = writeln!(out, "  kindPlayer: {},", arena::KIND_PLAYER);
    let _ = writeln!(out, "  kindOrb: {},", arena::KIND_ORB);
    let names: Vec<String> = arena::FIELDS.iter().map(|f| format!("{f:?}")).collect();
    let _ = writeln!(out, "  fields: [{}],", names.join(", "));
    let _ = writeln!(out, "}} as const;");
    let _ = writeln!(
        out,
        "/** Arena input on the wire: [dx, dy], each in -1..1. */"
    );
    let _ = writeln!(out, "export type ArenaInput = [dx: number, dy: number];");
    out
}

fn write_tags(out: &mut String, name: &str, layout: &[VariantLayout]) {
    let _ = writeln!(out, "export const {name} = {{");
    for v in layout {
        let _ = writeln!(out, "  {}: {},", v.name, v.tag);
    }
    let _ = writeln!(out, "}} as const;\n");
}

fn write_tuples(out: &mut String, prefix: &str, layout: &[VariantLayout], generic: Option<&str>) {
    let params = generic
        .map(|g| format!("<{g} = unknown>"))
        .unwrap_or_default();
    let mut union = Vec::new();
    for v in layout {
        // Only the variant carrying the game's input is generic.
        let is_generic = generic.is_some() && v.fields.iter().any(|(_, ty)| *ty == "unknown");
        let mut elems = vec![format!("tag: {}", v.tag)];
        for (field, ty) in v.fields {
            let ty = if *ty == "unknown" {
                generic.unwrap_or("unknown")
            } else {
                ty
            };
            elems.push(format!("{field}: {ty}"));
        }
        let (decl, use_) = match (is_generic, generic) {
            (true, Some(g)) => (params.clone(), format!("<{g}>")),
            _ => (String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "export type {prefix}{}{decl} = [{}];",
            v.name,
            elems.join(", ")
        );
        union.push(format!("{prefix}{}{use_}", v.name));
    }
    let _ = writeln!(
        out,
        "export type {prefix}Msg{params} =\n  | {};\n",
        union.join("\n  | ")
    );
}
