#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0

"""bench/summary.py RESULTS: the markdown summary of one bench/run.sh run.

Goals are reported as met / not met; nothing here fails on a number
(only on a missing result, which run.sh has checked already)."""
import sys


def load(path):
    r = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(" ")
            if k:
                r[k] = v.strip('"')
    return r


def f(r, k):
    return float(r[k])


def goal(ok):
    return "**met**" if ok else "**not met**"


def main():
    r = load(sys.argv[1])
    out = []
    w = out.append
    mode = "short (CI)" if r.get("bench_short") == "1" else "full"
    w(f"### Run {r['bench_date']} ({mode} mode, tree {r['bench_git']}, library {r.get('bench_lib', '?')})\n")
    w(f"Machine: {r['machine_nproc']} CPUs, {r['machine_cpu']}, {r['machine_mem_mb']} MB RAM, Linux {r['machine_kernel']}; "
      f"{r['machine_go']}, gcc {r['machine_gcc']}, libcoap {r['machine_libcoap']}, OpenSSL {r['machine_openssl']}. "
      f"Load average at start / end: {r.get('machine_loadavg_start', '?')} / {r.get('machine_loadavg_end', '?')} "
      f"(other work on the machine shows up as noise in absolute numbers).\n")

    w("#### Signing (one process, interleaved; median ns/op over rounds)\n")
    e, o, c = f(r, "sign_ns_enos_sign"), f(r, "sign_ns_openssl_fair"), f(r, "sign_ns_openssl_cached")
    w("| variant | ns/op | OpenSSL-fair / variant |")
    w("|---|---:|---:|")
    w(f"| `enos_sign` via the C ABI (stateless) | {e:.0f} | {o / e:.2f} |")
    w(f"| OpenSSL EVP, key derived per call (fair) | {o:.0f} | 1.00 |")
    w(f"| OpenSSL EVP, cached key schedule (reference) | {c:.0f} | {o / c:.2f} |")
    w(f"\nOutputs identical: {r.get('sign_identical', '?')}. Goal `enos_sign` 2x faster than OpenSSL-fair: "
      f"{o / e:.2f}x, {goal(o / e >= 2)}. Go core signer `Signer.AppendSign`: {r['go_AppendSign_ns']} ns/op, "
      f"{r['go_AppendSign_allocs']} allocs/op ({goal(float(r['go_AppendSign_allocs']) == 0)}).\n")

    w("#### Go benchmarks (median)\n")
    w("| benchmark | ns/op | allocs/op |")
    w("|---|---:|---:|")
    for k in sorted(k for k in r if k.startswith("go_") and k.endswith("_ns")):
        name = k[3:-3]
        w(f"| {name} | {r[k]} | {r.get('go_' + name + '_allocs', '?')} |")

    cpu = r.get('pin_cpu', '?')
    for pre, title, note in (
            ("report1cpu", f"to enos-sim, both on CPU {cpu} (the goal's comparison)",
             f"Simulator (all three setups): {r.get('report_sim_summary', '?')}."),
            ("report", "to enos-sim, CPUs unpinned (where the scheduler places the threads decides a run)", ""),
            ("nullrep", f"to null_server, both on CPU {cpu} (a C responder that verifies nothing: the clients' own cost)", "")):
        w(f"\n#### Reporting: sequential CON round trips {title}; median of {r['report_runs_each']} runs x "
          f"{r[pre + '_msgs_per_run']} msgs each\n")
        w("| client | msgs/s | mean µs | p50 µs | p99 µs | client CPU µs/msg | RSS KB | threads |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for c, name in (("enos", "libenos `enos_report`"), ("coap", "libcoap 4.3 + OpenSSL (hand-written)")):
            w(f"| {name} | {r[f'{pre}_{c}_msgs_per_s']} | {r[f'{pre}_{c}_mean_us']} | {r[f'{pre}_{c}_p50_us']} | "
              f"{r[f'{pre}_{c}_p99_us']} | {r[f'{pre}_{c}_cpu_us_per_msg']} | {r[f'{pre}_{c}_rss_kb']} | {r[f'{pre}_{c}_threads']} |")
        paired = f(r, f"{pre}_ratio_paired_median")
        w(f"\nRatio libenos / libcoap msgs/s, per pair of rounds of opposite order (median): {paired:.2f} "
          f"(ratio of the medians: {r.get(f'{pre}_ratio_enos_over_coap_msgs_per_s', '?')}); "
          f"client CPU per message {f(r, f'{pre}_enos_cpu_us_per_msg') / f(r, f'{pre}_coap_cpu_us_per_msg'):.2f}x libcoap's; "
          f"goal at least as fast: {goal(paired >= 1.0)}. {note}\n")

    if "dtls_ratio_paired_median" in r:
        w(f"#### Reporting over DTLS 1.2 PSK: enos-sim --dtls-listen and the client on CPU {cpu}; median of "
          f"{r['dtls_runs_each']} runs x {r['dtls_msgs_per_run']} msgs each (UDP rows: the same rounds, the same simulator)\n")
        w("| client | handshake µs (first / second in the process) | first report µs (handshake included) | msgs/s | mean µs | "
          "p99 µs | client CPU µs/msg | RSS KB | threads |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c, name in (("enos", "libenos, DTLS"), ("coap", "libcoap 4.3 + OpenSSL, DTLS")):
            p = f"dtls_{c}_"
            w(f"| {name} | {r[p + 'handshake_us']} / {r[p + 'handshake2_us']} | {r[p + 'first_report_us']} | "
              f"{r[p + 'msgs_per_s']} | {r[p + 'mean_us']} | {r[p + 'p99_us']} | {r[p + 'cpu_us_per_msg']} | "
              f"{r[p + 'rss_kb']} | {r[p + 'threads']} |")
        for c, name in (("enos", "libenos, UDP"), ("coap", "libcoap 4.3 + OpenSSL, UDP")):
            p = f"dtls_{c}udp_"
            w(f"| {name} | - | - | {r[p + 'msgs_per_s']} | {r[p + 'mean_us']} | {r[p + 'p99_us']} | "
              f"{r[p + 'cpu_us_per_msg']} | - | - |")
        w(f"\nRatio libenos / libcoap msgs/s over DTLS, per pair of rounds of opposite order (median): "
          f"{f(r, 'dtls_ratio_paired_median'):.2f}; client CPU per message "
          f"{f(r, 'dtls_enos_cpu_us_per_msg') / f(r, 'dtls_coap_cpu_us_per_msg'):.2f}x libcoap's.\n")

    w("#### Gateway scale (one C process, one enos_client per device)\n")
    w("| clients | period | rounds | C threads | target msg/s | sustained msg/s | steady p50 µs | steady p99 µs | "
      "first round p99 µs (auth) | schedule lag p99 µs | CPU µs/msg | B/client after init | B/client after round 1 | threads | fds | failures |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in ("1000", "10000"):
        p = f"scale{n}_"
        if p + "clients" not in r:
            continue
        w(f"| {r[p + 'clients']} | {int(r[p + 'period_ms']) / 1000:g} s | {r[p + 'rounds']} | {r[p + 'c_threads']} | "
          f"{r.get(p + 'target_msgs_per_s', '-')} | {r.get(p + 'steady_msgs_per_s', '-')} | {r.get(p + 'steady_p50_us', '-')} | "
          f"{r.get(p + 'steady_p99_us', '-')} | {r[p + 'round1_p99_us']} | {r.get(p + 'steady_lag_p99_us', '-')} | {r.get(p + 'cpu_us_per_msg', '-')} | "
          f"{r[p + 'after_init_per_client_bytes']} | {r[p + 'after_round1_per_client_bytes']} | "
          f"{r[p + 'after_round1_threads']} | {r[p + 'after_round1_fds']} | {r[p + 'failures']} |")
    p99 = f(r, "scale10000_steady_p99_us")
    idle = f(r, "scale10000_after_round1_per_client_bytes")
    per10 = int(r["scale10000_period_ms"]) == 10000
    w(f"\nGoal 10,000 clients every 10 s with p99 < 50 ms: p99 {p99 / 1000:.2f} ms"
      f"{'' if per10 else ' (short mode: period ' + str(int(r['scale10000_period_ms']) / 1000) + ' s, a heavier load)'}, "
      f"{goal(p99 < 50000)}. Goal idle memory per client < 32 KB: {idle / 1024:.1f} KB after the first round "
      f"({f(r, 'scale10000_after_init_per_client_bytes') / 1024:.1f} KB after enos_init), {goal(idle < 32 * 1024)}.\n")

    w("#### Footprint\n")
    so = f(r, "fp_so_stripped_bytes")
    w("| measure | value | goal |")
    w("|---|---:|---|")
    w(f"| libenos.so as built (`-s -w`) | {f(r, 'fp_so_bytes') / 1e6:.2f} MB | |")
    w(f"| libenos.so after `strip --strip-unneeded` | {so / 1e6:.2f} MB | ≤ 5 MB: {goal(so <= 5e6)} |")
    w(f"| for comparison: libcoap + libssl + libcrypto .so files | {f(r, 'fp_libcoap_openssl_bytes') / 1e6:.2f} MB | |")
    w(f"| RSS of the C host at main (libenos loaded) | {f(r, 'fp_rss_at_main_kb') / 1024:.1f} MB | |")
    w(f"| RSS after `enos_init` | {f(r, 'fp_rss_after_init_kb') / 1024:.1f} MB | ≤ 8 MB: {goal(f(r, 'fp_rss_after_init_kb') <= 8192)} |")
    w(f"| RSS after the first report / after 1,000 more | {f(r, 'fp_rss_after_report_kb') / 1024:.1f} / {f(r, 'fp_rss_after_1000_reports_kb') / 1024:.1f} MB | |")
    w(f"| threads at main / after init / after first report | {r['fp_threads_at_main']} / {r['fp_threads_after_init']} / {r['fp_threads_after_report']} | |")
    w(f"| virtual size | {f(r, 'fp_vmsize_kb') / 1024:.0f} MB | |")
    w(f"| process start (execve) → main / → enos_init done / → first acknowledged report | "
      f"{r['fp_exec_to_main_ms']} / {r['fp_exec_to_init_ms']} / {r['fp_exec_to_first_ack_ms']} ms | |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
