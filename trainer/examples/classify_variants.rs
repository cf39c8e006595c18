//! Compares ways of inferring the class through the model. Usage: classify_variants RUN_DIR
use std::path::Path;

use ndarray::{Array2, Axis, s};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use trainer::model::argmax_rows;
use trainer::train::{self, Checkpoint};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).expect("run dir");
    let ck = Checkpoint::load(Path::new(&dir))?;
    let (train_set, test) = train::load_data(&ck.config)?;
    println!(
        "train accuracy (mean-field): {:.4}",
        train::accuracy_of(&ck.machine.classify(train_set.pixels()), train_set.labels())
    );
    let m = &ck.machine;
    let p = m.sizes.pixels;
    let acc = |pred: Vec<u8>| train::accuracy_of(&pred, test.labels());
    println!("mean-field: {:.4}", acc(m.classify(test.pixels())));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for k in [10, 100] {
        let sc = m.class_scores_sampled(test.pixels(), k, &mut rng);
        println!("sampled {k}: {:.4}", acc(argmax_rows(sc.view())));
    }
    // Iterated: feed class means back.
    let mut v = Array2::zeros((test.len(), m.sizes.visible()));
    v.slice_mut(s![.., ..p]).assign(&test.pixels());
    for it in 0..5 {
        let r = m.reconstruct(v.view()).visible;
        let cls = r.slice(s![.., p..]).to_owned();
        println!("iterated {it}: {:.4}", acc(argmax_rows(cls.view())));
        v.slice_mut(s![.., p..]).assign(&cls);
    }
    // Recognition u1 mean → generator class directly (skipping u2).
    let mut v0 = Array2::zeros((test.len(), m.sizes.visible()));
    v0.slice_mut(s![.., ..p]).assign(&test.pixels());
    let (m1, _) = m.recognition.mean_field(v0.view());
    let vis = m.generator.visible_means(m1.view());
    println!("via u1 only: {:.4}", acc(argmax_rows(vis.slice(s![.., p..]))));
    let _ = Axis(0);
    Ok(())
}
