use super::*;

#[test]
fn smoke() {
    let g = Chimera::dw_2000q_5();
    let t = std::time::Instant::now();
    let e = embed_clique_with(&g, 60, Some(Chimera::C16), &CliqueOptions::default()).unwrap();
    println!("{:?} {} {:?}", e.method, e.embedding, t.elapsed());
}
