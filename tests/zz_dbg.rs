mod support;
#[test]
fn dbg() {
    let w = support::World::fight(1);
    for p in ["alice","bob","carol"] {
        let s = dicebard::intent::Scene::new(&w.state, &dicebard_engine::PlayerId::new(p));
        println!("{p}: weapons {:?} items {:?} spells {:?}", s.weapons, s.items, s.spells.iter().map(|s| &s.name).collect::<Vec<_>>());
    }
    let s = dicebard::intent::Scene::new(&w.state, &dicebard_engine::PlayerId::new("alice"));
    for c in &s.creatures { println!("{} base={} n={:?} kind={:?} size={} pc={}", c.name, c.base, c.number, c.kind, c.size, c.is_pc); }
}
