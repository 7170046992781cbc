from xnaming_widget.analysis import explanation_summary, global_explanation, local_explanations


def test_local_explanations_by_hand(birds):
    acts, alice, bob = birds
    local = local_explanations(alice, acts).set_index("image_id")
    assert local["explanation"].to_dict() == {
        "i1": ("eye", "wing"), "i2": ("eye", "wing"), "i3": ("eye",), "i4": ("wing",), "i5": ("other",)}
    assert local["n_significant"].to_dict() == {"i1": 2, "i2": 2, "i3": 1, "i4": 1, "i5": 1}
    local = local_explanations(bob, acts, other="?").set_index("image_id")
    assert local.loc["i1", "explanation"] == ("?", "head")  # a2 is trash: unnamed
    assert local.loc["i3", "explanation"] == ("?",)  # concept 'tiny' dissolved
    assert list(local["partial"]) == [True, True, False, False, True]
    assert list(local["complete"]) == [False, False, False, False, True]


def test_global_explanation_image_and_activation_level(birds):
    acts, alice, _ = birds
    table = global_explanation(alice, acts)
    assert list(table["explanation"]) == [("eye", "wing"), ("eye",), ("other",), ("wing",)]
    assert list(table["count"]) == [2, 1, 1, 1]
    assert table["fraction"].tolist() == [0.4, 0.2, 0.2, 0.2]
    per_activation = global_explanation(alice, acts, level="activation")
    assert dict(zip(per_activation["explanation"], per_activation["count"])) == {("eye",): 3, ("wing",): 3, ("other",): 1}
    assert abs(per_activation["fraction"].sum() - 1) < 1e-12
    assert explanation_summary(table).startswith("('eye', 'wing') 40.0 %, ('eye',) 20.0 %")
