//! `heavy-init`: a large module with expensive module-scope initialisation — for exploring cold starts, init
//! duration, suppressed inits and provisioned concurrency.
//!
//! The module embeds a generated product catalogue (24,000 CSV rows, about 1.7 MB, made by `build.rs`), so the
//! `.wasm` is large. `init` parses it and builds indexes: products sorted by id, a SKU map, an inverted index of
//! name words, per-category price statistics and, for every product, its three nearest neighbours in the same
//! region. Invocations are then cheap lookups.
//!
//! Event (one of):
//! - `{"id": 123}` — look up a product by id (1..=24000);
//! - `{"key": "SKU-1A2B3C4D"}` — look up a product by SKU;
//! - `{"search": "granite lamp"}` — products whose name has all these words.
//!
//! Response to a lookup: `{"found": true, "product": {…}, "category": {…}, "nearby": [ids]}` or `{"found": false}`;
//! to a search: `{"query": "…", "matches": 57, "ids": [first 10 ids]}`. An event with none of the three fields is a
//! handled `InvalidRequest` error.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use lambda_sim_sdk::{Context, Error};
use serde::{Deserialize, Serialize};

/// The generated catalogue (see build.rs).
const CATALOG_CSV: &str = include_str!(concat!(env!("OUT_DIR"), "/catalog.csv"));

/// The loaded catalogue, built by `init` (or by the first invocation if `init` was not run).
static CATALOG: OnceLock<Catalog> = OnceLock::new();

/// One product row, plus what init derives for it.
#[derive(Debug, Serialize)]
struct Product {
    id: u32,
    sku: String,
    name: String,
    category: String,
    region: String,
    price_cents: u32,
    stock: u32,
    rating: f64,
    lat: f64,
    lon: f64,
    tags: Vec<String>,
    /// Fraction of the products in the same category that are cheaper (0.0–1.0).
    price_percentile: f64,
    /// Ids of the three nearest products in the same region (by great-circle distance within a 10° grid cell).
    #[serde(skip)]
    nearby: Vec<u32>,
}

/// Price statistics of one category.
#[derive(Debug, Serialize)]
struct CategoryStats {
    name: String,
    products: u32,
    min_price_cents: u32,
    max_price_cents: u32,
    median_price_cents: u32,
    mean_price_cents: u64,
    total_stock: u64,
}

/// The indexed catalogue.
#[derive(Debug)]
struct Catalog {
    /// Sorted by id.
    products: Vec<Product>,
    by_sku: BTreeMap<String, usize>,
    by_word: BTreeMap<String, Vec<usize>>,
    categories: BTreeMap<String, CategoryStats>,
}

impl Catalog {
    fn load() -> Result<Catalog, Error> {
        let mut products = parse_csv(CATALOG_CSV)?;
        products.sort_unstable_by_key(|p| p.id);
        if let Some(pair) = products.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(Error::new(
                "CatalogError",
                format!("duplicate id {}", pair[0].id),
            ));
        }

        let mut by_sku = BTreeMap::new();
        let mut by_word: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, product) in products.iter().enumerate() {
            by_sku.insert(product.sku.clone(), index);
            for word in product.name.split_whitespace() {
                by_word.entry(word.to_lowercase()).or_default().push(index);
            }
        }

        let categories = category_stats(&mut products);
        nearest_neighbours(&mut products);
        Ok(Catalog {
            products,
            by_sku,
            by_word,
            categories,
        })
    }

    fn by_id(&self, id: u64) -> Option<&Product> {
        self.products
            .binary_search_by_key(&id, |p| u64::from(p.id))
            .ok()
            .map(|i| &self.products[i])
    }

    fn search(&self, query: &str) -> Vec<u32> {
        let mut result: Option<Vec<usize>> = None;
        for word in query.split_whitespace() {
            let postings = self
                .by_word
                .get(&word.to_lowercase())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            result = Some(match result {
                None => postings.to_vec(),
                Some(acc) => acc
                    .into_iter()
                    .filter(|i| postings.binary_search(i).is_ok())
                    .collect(),
            });
        }
        result
            .unwrap_or_default()
            .into_iter()
            .map(|i| self.products[i].id)
            .collect()
    }
}

fn parse_csv(csv: &str) -> Result<Vec<Product>, Error> {
    let mut lines = csv.lines().enumerate();
    lines.next(); // header
    let mut products = Vec::with_capacity(csv.len() / 70);
    for (number, line) in lines {
        let bad = |what: &str| {
            Error::new(
                "CatalogError",
                format!("line {}: bad {what}: {line}", number + 1),
            )
        };
        let fields: Vec<&str> = line.split(',').collect();
        let [
            id,
            sku,
            name,
            category,
            region,
            price,
            stock,
            rating,
            lat,
            lon,
            tags,
        ] = fields[..]
        else {
            return Err(bad("field count"));
        };
        products.push(Product {
            id: id.parse().map_err(|_| bad("id"))?,
            sku: sku.to_owned(),
            name: name.to_owned(),
            category: category.to_owned(),
            region: region.to_owned(),
            price_cents: price.parse().map_err(|_| bad("price"))?,
            stock: stock.parse().map_err(|_| bad("stock"))?,
            rating: rating.parse().map_err(|_| bad("rating"))?,
            lat: lat.parse().map_err(|_| bad("lat"))?,
            lon: lon.parse().map_err(|_| bad("lon"))?,
            tags: tags
                .split('|')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            price_percentile: 0.0,
            nearby: Vec::new(),
        });
    }
    Ok(products)
}

/// Computes each category's statistics and each product's price percentile within its category.
fn category_stats(products: &mut [Product]) -> BTreeMap<String, CategoryStats> {
    let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, product) in products.iter().enumerate() {
        members
            .entry(product.category.clone())
            .or_default()
            .push(index);
    }
    let mut stats = BTreeMap::new();
    for (name, mut indices) in members {
        indices.sort_by_key(|&i| (products[i].price_cents, products[i].id));
        let count = indices.len();
        for (rank, &i) in indices.iter().enumerate() {
            products[i].price_percentile = rank as f64 / count as f64;
        }
        let prices: Vec<u32> = indices.iter().map(|&i| products[i].price_cents).collect();
        let total: u64 = prices.iter().map(|&p| u64::from(p)).sum();
        let entry = CategoryStats {
            name: name.clone(),
            products: count as u32,
            min_price_cents: prices.first().copied().unwrap_or(0),
            max_price_cents: prices.last().copied().unwrap_or(0),
            median_price_cents: prices.get(count / 2).copied().unwrap_or(0),
            mean_price_cents: total / count.max(1) as u64,
            total_stock: indices.iter().map(|&i| u64::from(products[i].stock)).sum(),
        };
        stats.insert(name, entry);
    }
    stats
}

/// For every product, the ids of the three nearest products of the same region within its 10°×10° grid cell.
fn nearest_neighbours(products: &mut [Product]) {
    let mut cells: BTreeMap<(String, i32, i32), Vec<usize>> = BTreeMap::new();
    for (index, product) in products.iter().enumerate() {
        cells.entry(cell_key(product)).or_default().push(index);
    }
    let mut nearby = vec![Vec::new(); products.len()];
    for members in cells.values() {
        for &i in members {
            let mut distances: Vec<(f64, u32)> = members
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| (haversine_km(&products[i], &products[j]), products[j].id))
                .collect();
            distances.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            nearby[i] = distances.iter().take(3).map(|&(_, id)| id).collect();
        }
    }
    for (product, near) in products.iter_mut().zip(nearby) {
        product.nearby = near;
    }
}

fn cell_key(p: &Product) -> (String, i32, i32) {
    (
        p.region.clone(),
        (p.lat / 10.0).floor() as i32,
        (p.lon / 10.0).floor() as i32,
    )
}

fn haversine_km(a: &Product, b: &Product) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// The event: exactly one of `id`, `key` or `search` is used (in that order of preference).
#[derive(Debug, Deserialize)]
struct Request {
    id: Option<u64>,
    key: Option<String>,
    search: Option<String>,
}

/// The response.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Response {
    Found {
        found: bool,
        product: &'static Product,
        category: Option<&'static CategoryStats>,
        nearby: &'static [u32],
    },
    NotFound {
        found: bool,
    },
    Search {
        query: String,
        matches: usize,
        ids: Vec<u32>,
    },
}

fn catalog() -> Result<&'static Catalog, Error> {
    if let Some(catalog) = CATALOG.get() {
        return Ok(catalog);
    }
    let catalog = Catalog::load()?;
    Ok(CATALOG.get_or_init(|| catalog))
}

fn init() -> Result<(), Error> {
    let catalog = catalog()?;
    println!(
        "catalog loaded: {} products, {} categories, {} name words",
        catalog.products.len(),
        catalog.categories.len(),
        catalog.by_word.len()
    );
    Ok(())
}

fn lookup(event: Request, _ctx: &Context) -> Result<Response, Error> {
    let catalog = catalog()?;
    let product = if let Some(id) = event.id {
        catalog.by_id(id)
    } else if let Some(key) = &event.key {
        catalog.by_sku.get(key).map(|&i| &catalog.products[i])
    } else if let Some(query) = event.search {
        let ids = catalog.search(&query);
        return Ok(Response::Search {
            query,
            matches: ids.len(),
            ids: ids.into_iter().take(10).collect(),
        });
    } else {
        return Err(Error::new(
            "InvalidRequest",
            r#"expected {"id": N}, {"key": "SKU-…"} or {"search": "words"}"#,
        ));
    };
    Ok(match product {
        Some(product) => Response::Found {
            found: true,
            category: catalog.categories.get(&product.category),
            nearby: &product.nearby,
            product,
        },
        None => Response::NotFound { found: false },
    })
}

lambda_sim_sdk::handler!(lookup, init = init);

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, run_init, testing};

    #[test]
    fn init_and_lookups() {
        let started = std::time::Instant::now();
        let loaded = Catalog::load().unwrap();
        eprintln!("native Catalog::load: {:?}", started.elapsed());
        assert_eq!(loaded.products.len(), 24_000);
        assert!(
            loaded
                .products
                .iter()
                .enumerate()
                .all(|(i, p)| p.id == i as u32 + 1)
        );
        assert!(loaded.products.iter().all(|p| p.nearby.len() <= 3));

        assert_eq!(testing::init(|| run_init(init)).status, 0);
        let body = testing::invoke(br#"{"id": 123}"#, || run(lookup))
            .json()
            .unwrap();
        assert_eq!(body["found"], true);
        assert_eq!(body["product"]["id"], 123);
        let sku = body["product"]["sku"].as_str().unwrap().to_owned();
        let event = serde_json::to_vec(&serde_json::json!({ "key": sku })).unwrap();
        let by_key = testing::invoke(&event, || run(lookup)).json().unwrap();
        assert_eq!(by_key, body);

        let missing = testing::invoke(br#"{"id": 999999}"#, || run(lookup))
            .json()
            .unwrap();
        assert_eq!(missing, serde_json::json!({"found": false}));

        let search = testing::invoke(br#"{"search": "Granite LAMP"}"#, || run(lookup))
            .json()
            .unwrap();
        assert!(search["matches"].as_u64().unwrap() > 0);

        let invalid = testing::invoke(b"{}", || run(lookup));
        assert_eq!(invalid.error.unwrap().error_type, "InvalidRequest");
    }
}
