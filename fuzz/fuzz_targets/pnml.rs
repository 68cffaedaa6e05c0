//! PNML workflow nets (`check --net`): read, written back and read again to the same
//! net, and aligned against a few traces made of its own labels (on a block-structured
//! net, the block alignment's cost equals the search's).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(net) = procedo::petri::pnml::parse_pnml(&text) else {
        return;
    };
    let written = procedo::petri::pnml::write_pnml(&net, "fuzz");
    let again = procedo::petri::pnml::parse_pnml(&written)
        .unwrap_or_else(|e| panic!("a written net reads back: {e}\n{written}"));
    assert_eq!(again.places.len(), net.places.len(), "places kept");
    assert_eq!(again.initial, net.initial, "initial marking kept");
    assert_eq!(again.final_marking, net.final_marking, "final marking kept");
    assert_eq!(
        again
            .transitions
            .iter()
            .map(|t| &t.label)
            .collect::<Vec<_>>(),
        net.transitions.iter().map(|t| &t.label).collect::<Vec<_>>(),
        "transition labels kept"
    );
    // Six searches of an instrumented build: 2,000 states each keeps an input well under
    // a second (at 20,000, a net of 50 transitions took 2 s alone and passed the 20 s
    // timeout beside other work).
    let mut aligner = procedo::petri::align::Aligner::new(&net);
    aligner.state_limit = 2_000;
    aligner.empty_state_limit = 2_000;
    let labels: Vec<&str> = net
        .transitions
        .iter()
        .filter_map(|t| t.label.as_deref())
        .collect();
    let _ = aligner.empty_cost();
    let forward = aligner.encode(&labels);
    let mut backward = forward.clone();
    backward.reverse();
    // On a block-structured net the block alignment answers; where the search also
    // finishes within its limit, both costs are the optimum, so they are equal.
    let traces = [forward, backward, vec![None]];
    let mut answers = Vec::new();
    for trace in &traces {
        let a = aligner.align(trace);
        if let Some(a) = &a {
            let _ = aligner.fitness(a, trace.len());
        }
        answers.push(a);
    }
    if aligner.block_structured() {
        aligner.disable_blocks();
        for (trace, a) in traces.iter().zip(&answers) {
            if let (Some(a), Some(s)) = (a, aligner.align(trace)) {
                assert_eq!(a.cost, s.cost, "block alignment and search agree");
            }
        }
    }
});
