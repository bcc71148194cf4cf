//! Derives for declaring tickroom entity kinds; re-exported by `tickroom_server`.
//!
//! `#[derive(Replicate)]` on a struct with named fields implements
//! `tickroom_server::replicate::Replicate`: the kind's name (the type name in snake_case, or
//! `#[replicate(kind = "...")]`), its fields in declaration order, and the conversion of each to
//! its wire value. Field options: `#[replicate(step = 0.5)]` for floats, `#[replicate(max_len =
//! 16)]` for texts, `#[replicate(skip)]` for server-only fields.
//!
//! `#[derive(ReplicateEnum)]` on a fieldless enum implements `ReplicateEnum` (variants by index,
//! named in snake_case).

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitFloat, LitInt, LitStr};

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Derives `Replicate`; see the crate docs.
#[proc_macro_derive(Replicate, attributes(replicate))]
pub fn derive_replicate(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match replicate(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn replicate(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let mut kind = snake_case(&name.to_string());
    for attr in &input.attrs {
        if attr.path().is_ident("replicate") {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("kind") {
                    kind = meta.value()?.parse::<LitStr>()?.value();
                    Ok(())
                } else {
                    Err(meta.error("expected `kind = \"...\"`"))
                }
            })?;
        }
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            name,
            "Replicate needs a struct with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            name,
            "Replicate needs a struct with named fields",
        ));
    };
    let mut schema = Vec::new();
    let mut writes = Vec::new();
    for field in &fields.named {
        let mut step: Option<f64> = None;
        let mut max_len: Option<u16> = None;
        let mut skip = false;
        for attr in &field.attrs {
            if attr.path().is_ident("replicate") {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("step") {
                        let lit = meta.value()?.parse::<syn::Lit>()?;
                        step = Some(match lit {
                            syn::Lit::Float(f) => f.base10_parse::<f64>()?,
                            syn::Lit::Int(i) => i.base10_parse::<f64>()?,
                            other => {
                                return Err(syn::Error::new_spanned(other, "expected a number"))
                            }
                        });
                        Ok(())
                    } else if meta.path.is_ident("max_len") {
                        max_len = Some(meta.value()?.parse::<LitInt>()?.base10_parse()?);
                        Ok(())
                    } else if meta.path.is_ident("skip") {
                        skip = true;
                        Ok(())
                    } else {
                        Err(meta.error("expected `step = ...`, `max_len = ...` or `skip`"))
                    }
                })?;
            }
        }
        if skip {
            continue;
        }
        let ident = field.ident.as_ref().expect("named fields have names");
        let ty = &field.ty;
        let fname = ident.to_string();
        let step = match step {
            Some(s) => {
                let lit = LitFloat::new(&format!("{s:?}f64"), proc_macro2::Span::call_site());
                quote!(::core::option::Option::Some(#lit))
            }
            None => quote!(::core::option::Option::None),
        };
        let max_len = match max_len {
            Some(m) => quote!(::core::option::Option::Some(#m)),
            None => quote!(::core::option::Option::None),
        };
        let options =
            quote!(::tickroom_server::replicate::FieldOptions { step: #step, max_len: #max_len });
        schema.push(quote! {
            ::tickroom_server::replicate::FieldSchema {
                name: ::std::string::String::from(#fname),
                ty: <#ty as ::tickroom_server::replicate::Field>::field_type(&#options)
                    .map_err(|e| ::std::format!("{}.{}: {}", #kind, #fname, e))?,
            }
        });
        writes.push(quote! {
            out.push(::tickroom_server::replicate::Field::to_value(&self.#ident, &#options));
        });
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::tickroom_server::replicate::Replicate for #name #ty_generics #where_clause {
            const KIND: &'static str = #kind;
            fn fields() -> ::std::result::Result<::std::vec::Vec<::tickroom_server::replicate::FieldSchema>, ::std::string::String> {
                ::std::result::Result::Ok(::std::vec![#(#schema),*])
            }
            fn write(&self, out: &mut ::std::vec::Vec<::tickroom_server::replicate::Value>) {
                #(#writes)*
            }
        }
    })
}

/// Derives `ReplicateEnum`; see the crate docs.
#[proc_macro_derive(ReplicateEnum)]
pub fn derive_replicate_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return syn::Error::new_spanned(name, "ReplicateEnum needs a fieldless enum")
            .to_compile_error()
            .into();
    };
    let mut names = Vec::new();
    let mut arms = Vec::new();
    for (i, v) in data.variants.iter().enumerate() {
        if !matches!(v.fields, Fields::Unit) {
            return syn::Error::new_spanned(v, "ReplicateEnum needs a fieldless enum")
                .to_compile_error()
                .into();
        }
        let ident = &v.ident;
        let i = i as u32;
        names.push(snake_case(&ident.to_string()));
        arms.push(quote!(#name::#ident => #i));
    }
    quote! {
        impl ::tickroom_server::replicate::ReplicateEnum for #name {
            const VARIANTS: &'static [&'static str] = &[#(#names),*];
            fn index(self) -> u32 {
                match self { #(#arms),* }
            }
        }
    }
    .into()
}
