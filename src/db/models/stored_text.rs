//! Enums stored as text (states and kinds): one definition gives each its spelling both ways,
//! shows and serialises it as that spelling (so the CLI's columns and the admin JSON print what
//! is stored), and compares it with the spelling.

/// `stored_text! { /// doc  pub enum Name("what it is, for errors") { Variant = "text", … } }`
macro_rules! stored_text {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// The stored spelling (also what the admin API and the CLI print).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(value: String) -> std::result::Result<Self, String> {
                match value.as_str() {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(format!(concat!("unknown ", $what, " {:?}"), value)),
                }
            }
        }

        // `pad`, so that the CLI's column widths apply as they did to the stored text.
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        // Against the stored spelling, for readers that hold the text.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(super) use stored_text;
