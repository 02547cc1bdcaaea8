fn main() {
    println!("vedette {}", env!("CARGO_PKG_VERSION"));
}
