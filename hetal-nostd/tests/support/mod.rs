pub mod layering;
