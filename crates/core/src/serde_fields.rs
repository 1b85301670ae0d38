//! The field names serde's derive gives a struct (what `deny_unknown_fields` accepts), read from
//! the `deserialize_struct` call it makes: the README's file references are checked against them,
//! so a reference cannot miss a field nor document one that is gone.

use serde::Deserialize;

/// The fields of `T`; empty when `T` does not deserialize as a struct.
pub fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    #[derive(Debug)]
    struct Fields(&'static [&'static str]);
    impl std::fmt::Display for Fields {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }
    impl std::error::Error for Fields {}
    impl serde::de::Error for Fields {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Self(&[])
        }
    }
    struct Introspect;
    impl<'de> serde::Deserializer<'de> for Introspect {
        type Error = Fields;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
            Err(Fields(&[]))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Fields> {
            Err(Fields(fields))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    T::deserialize(Introspect)
        .err()
        .map_or(&[], |Fields(fields)| fields)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Two {
        first: u8,
        second: Option<String>,
    }

    #[test]
    fn a_structs_fields_are_read_from_its_derive() {
        assert_eq!(super::fields_of::<Two>(), ["first", "second"]);
        assert!(super::fields_of::<String>().is_empty());
    }
}
