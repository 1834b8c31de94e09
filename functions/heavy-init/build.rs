//! Generates heavy-init's embedded dataset: a deterministic product catalogue as CSV (about 1.7 MB), written to
//! `$OUT_DIR/catalog.csv` and embedded with `include_str!`. A fixed-seed LCG makes every build byte-identical; the
//! data is never committed.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

/// Number of products in the catalogue (ids 1..=ROWS, in shuffled order).
const ROWS: u32 = 24_000;

const ADJECTIVES: &[&str] = &[
    "Amber", "Brisk", "Cobalt", "Dapper", "Ember", "Frosted", "Granite", "Hollow", "Ivory", "Jade",
    "Kinetic", "Lunar", "Mellow", "Nimble", "Onyx", "Polar", "Quartz", "Rustic", "Solar", "Tidal",
    "Umber", "Velvet", "Woven", "Zephyr",
];
const NOUNS: &[&str] = &[
    "Lamp", "Kettle", "Backpack", "Chair", "Desk", "Blender", "Jacket", "Speaker", "Tent",
    "Bottle", "Notebook", "Drone", "Helmet", "Router", "Mug", "Pillow", "Skillet", "Scarf",
    "Watch", "Wallet",
];
const EDITIONS: &[&str] = &[
    "", " Pro", " Mini", " Max", " Lite", " Plus", " XL", " Classic",
];
const CATEGORIES: &[&str] = &[
    "home", "kitchen", "outdoor", "office", "audio", "apparel", "sports", "travel", "garden",
    "toys", "tools", "books",
];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
];
const TAGS: &[&str] = &[
    "eco", "bulk", "gift", "new", "sale", "refurb", "limited", "bundle", "imported",
];

/// Knuth's MMIX linear congruential generator, seeded with a constant.
struct Lcg(u64);

impl Lcg {
    fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u32) as usize]
    }
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let mut rng = Lcg(0x5eed_1a4b_da5e_ed01);

    // Ids 1..=ROWS in a Fisher–Yates-shuffled order, so init has to sort.
    let mut ids: Vec<u32> = (1..=ROWS).collect();
    for i in (1..ids.len()).rev() {
        let j = rng.below(i as u32 + 1) as usize;
        ids.swap(i, j);
    }

    let mut csv = String::with_capacity(ROWS as usize * 80);
    csv.push_str("id,sku,name,category,region,price_cents,stock,rating,lat,lon,tags\n");
    for id in ids {
        let sku = format!("SKU-{:08X}", rng.next_u32());
        let name = format!(
            "{} {}{}",
            rng.pick(ADJECTIVES),
            rng.pick(NOUNS),
            rng.pick(EDITIONS)
        );
        let category = rng.pick(CATEGORIES);
        let region = rng.pick(REGIONS);
        let price_cents = 199 + rng.below(250_000);
        let stock = rng.below(1_000);
        let rating = f64::from(rng.below(401)) / 100.0 + 1.0;
        let lat = f64::from(rng.below(1_600_000)) / 10_000.0 - 80.0;
        let lon = f64::from(rng.below(3_600_000)) / 10_000.0 - 180.0;
        let tag_count = rng.below(4);
        let tags: Vec<&str> = (0..tag_count).map(|_| rng.pick(TAGS)).collect();
        let _ = writeln!(
            csv,
            "{id},{sku},{name},{category},{region},{price_cents},{stock},{rating:.2},{lat:.4},{lon:.4},{}",
            tags.join("|")
        );
    }

    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalog.csv");
    fs::write(&out, csv).expect("write catalog.csv");
}
