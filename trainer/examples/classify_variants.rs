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
    // Unknown class as the average class vector (−0.8 each) rather than 0.
    let mut va = Array2::zeros((test.len(), m.sizes.visible()));
    va.slice_mut(s![.., ..p]).assign(&test.pixels());
    va.slice_mut(s![.., p..]).fill(-0.8);
    let r = m.reconstruct(va.view()).visible;
    println!("class bits -0.8: {:.4}", acc(argmax_rows(r.slice(s![.., p..]))));
    // Generative: for each class hypothesis, the log-likelihood of (pixels, class bits) under the
    // mean-field reconstruction from (pixels, class bits).
    let nc = m.sizes.classes;
    let mut scores = Array2::<f32>::zeros((test.len(), nc));
    for k in 0..nc {
        let mut vk = Array2::zeros((test.len(), m.sizes.visible()));
        vk.slice_mut(s![.., ..p]).assign(&test.pixels());
        vk.slice_mut(s![.., p..]).fill(-1.0);
        vk.slice_mut(s![.., p + k]).fill(1.0);
        let (_, m2) = m.recognition.mean_field(vk.view());
        let m1 = m.generator.u2_to_u1.mean(m2.view());
        let a = m.generator.u1_to_v.activation(m1.view());
        for i in 0..test.len() {
            let mut ll = 0.0;
            for j in 0..m.sizes.visible() {
                ll += trainer::model::log_lik(vk[[i, j]], a[[i, j]]);
            }
            scores[[i, k]] = ll;
        }
    }
    println!("generative: {:.4}", acc(argmax_rows(scores.view())));
    Ok(())
}
