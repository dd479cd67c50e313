"""doctor learns whether an optional module is in the kernel by reading, never by loading it."""

from netlab.kernel.features import module_state


def _tree(tmp_path, loaded=(), builtin=(), dep=()):
    sys_root = tmp_path / "sys"
    for name in loaded:
        (sys_root / name).mkdir(parents=True)
    sys_root.mkdir(exist_ok=True)
    modules = tmp_path / "lib"
    modules.mkdir()
    (modules / "modules.builtin").write_text("".join(f"kernel/drivers/net/{m}.ko\n" for m in builtin))
    (modules / "modules.dep").write_text("".join(f"kernel/net/sched/{m}.ko.xz: kernel/lib/x.ko\n" for m in dep))
    return str(sys_root), str(modules)


def test_a_loaded_module_is_seen_in_sysfs(tmp_path):
    assert module_state("vxlan", *_tree(tmp_path, loaded=["vxlan"])) == "loaded"


def test_a_built_in_module_is_read_from_modules_builtin(tmp_path):
    assert module_state("vxlan", *_tree(tmp_path, builtin=["vxlan"])) == "builtin"


def test_a_module_on_disk_but_not_loaded_is_loadable_and_left_alone(tmp_path):
    assert module_state("sch_netem", *_tree(tmp_path, dep=["sch_netem"])) == "loadable"


def test_a_name_that_only_prefixes_another_module_does_not_count(tmp_path):
    assert module_state("sch_net", *_tree(tmp_path, dep=["sch_netem"])) == "absent"


def test_no_module_lists_at_all_means_absent(tmp_path):
    assert module_state("wireguard", str(tmp_path / "nosys"), str(tmp_path / "nolib")) == "absent"
