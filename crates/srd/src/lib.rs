//! The SRD 5.1 data set, embedded, converted into [`dicebard_engine::data::Catalog`].
