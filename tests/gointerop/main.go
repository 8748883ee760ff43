// Command gointerop is a test helper for rget: it exposes Go's reference
// implementations of signed notes (golang.org/x/mod/sumdb/note) and RFC 6962
// Merkle trees / tiles (golang.org/x/mod/sumdb/tlog), x/mod v0.7.0 as packaged
// by Debian, so the Rust tests can cross-check our hand-written code against
// an independent implementation.
//
// Usage:
//
//	gointerop keygen NAME
//	gointerop sign SKEY-FILE                 < note text    > signed note
//	gointerop open VKEY...                   < signed note  > note text (verified names on stderr)
//	gointerop merkle N [-i INDEX]... [-c OLD]...
//	gointerop writelog DIR N SKEY-FILE ORIGIN
//	gointerop checklog DIR VKEY
//	gointerop checkdir DIR VKEY
//	gointerop proofs DIR VKEY [-i INDEX]... [-c OLD]...
//
// Every failure prints one line "gointerop: ..." on stderr and exits 1.
//
// Two traps of x/mod 0.7.0 that this program deliberately avoids:
//   - tlog.TreeHash(0, r) returns the all-zero hash, not the RFC 6962 empty
//     root SHA-256(""); we use emptyRoot explicitly for size 0.
//   - tlog.TileHashReader may return hashes taken from tiles that it did not
//     authenticate: its parent-check loop starts at index len(stx) of the
//     deduplicated tile list, so when several root-path hashes share a tile,
//     the first few extra tiles are never checked (seen here: a flipped byte in
//     tile/0/005 of a 70000-entry log is served without error). Every proof
//     built from tiles is therefore re-checked with tlog.CheckRecord /
//     tlog.CheckTree against the signed checkpoint root, and checklog never
//     uses TileHashReader at all.
//
// Also note: tlog.NewTiles(8, 0, N) lists, for the partial right edge of each
// level, every width 1..W (what a log that grew one record at a time would
// have published), not only the width-W tile a C2SP log of size N serves; see
// servedTiles.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is fixed to 8 by C2SP tlog-tiles (256 hashes / entries per tile).
const tileHeight = 8
const tileWidth = 1 << tileHeight

// emptyRoot is the RFC 6962 root of the empty tree, MTH({}) = SHA-256("").
// tlog.TreeHash(0, ...) returns an all-zero Hash instead, so never use it for size 0.
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

func main() {
	if err := run(os.Args[1:]); err != nil {
		// One line only, as promised to the callers.
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintf(os.Stderr, "gointerop: %s\n", msg)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: gointerop keygen|sign|open|merkle|writelog|checklog|checkdir|proofs ...")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "keygen":
		return cmdKeygen(args)
	case "sign":
		return cmdSign(args)
	case "open":
		return cmdOpen(args)
	case "merkle":
		return cmdMerkle(args)
	case "writelog":
		return cmdWritelog(args)
	case "checklog":
		return cmdChecklog(args)
	case "checkdir":
		return cmdCheckdir(args)
	case "proofs":
		return cmdProofs(args)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// ---------------------------------------------------------------------------
// Signed notes.

// keygen NAME: prints the private signer key and the verifier key, one per line.
func cmdKeygen(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gointerop keygen NAME")
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, args[0])
	if err != nil {
		return err
	}
	fmt.Println(skey)
	fmt.Println(vkey)
	return nil
}

// loadSigner reads a "PRIVATE+KEY+..." signer key from a file (surrounding
// whitespace, e.g. a trailing newline, is ignored).
func loadSigner(file string) (note.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	s, err := note.NewSigner(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("signer key %s: %v", file, err)
	}
	return s, nil
}

// sign SKEY-FILE: signs the note text read from stdin.
func cmdSign(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gointerop sign SKEY-FILE < text")
	}
	signer, err := loadSigner(args[0])
	if err != nil {
		return err
	}
	text, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return fmt.Errorf("note.Sign: %v", err)
	}
	_, err = os.Stdout.Write(msg)
	return err
}

func verifiers(vkeys []string) (note.Verifiers, error) {
	var list []note.Verifier
	for _, vkey := range vkeys {
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return nil, fmt.Errorf("verifier key %q: %v", vkey, err)
		}
		list = append(list, v)
	}
	return note.VerifierList(list...), nil
}

// open VKEY...: verifies the signed note on stdin with note.Open.
func cmdOpen(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: gointerop open VKEY... < signed-note")
	}
	known, err := verifiers(args)
	if err != nil {
		return err
	}
	msg, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	n, err := note.Open(msg, known)
	if err != nil {
		return fmt.Errorf("note.Open: %v", err)
	}
	if _, err := os.Stdout.WriteString(n.Text); err != nil {
		return err
	}
	for _, sig := range n.Sigs {
		fmt.Fprintln(os.Stderr, sig.Name)
	}
	return nil
}

// ---------------------------------------------------------------------------
// In-memory Merkle tree built only with tlog.StoredHashes.

// memTree holds every stored hash of a tree, in tlog's stored-hash order.
type memTree struct {
	n      int64
	stored []tlog.Hash
}

// ReadHashes implements tlog.HashReader over the in-memory hashes.
func (t *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.stored)) {
			return nil, fmt.Errorf("stored hash index %d out of range", x)
		}
		out[i] = t.stored[x]
	}
	return out, nil
}

// add appends a record with the given leaf hash (tlog.RecordHash of the entry).
func (t *memTree) add(leaf tlog.Hash) error {
	if want := tlog.StoredHashIndex(0, t.n); want != int64(len(t.stored)) {
		return fmt.Errorf("bad stored hash count %d, want %d", len(t.stored), want)
	}
	hs, err := tlog.StoredHashesForRecordHash(t.n, leaf, tlog.HashReaderFunc(t.ReadHashes))
	if err != nil {
		return err
	}
	t.stored = append(t.stored, hs...)
	t.n++
	return nil
}

// root returns the RFC 6962 root of the first n records (n <= t.n).
func (t *memTree) root(n int64) (tlog.Hash, error) {
	if n == 0 {
		// tlog.TreeHash(0, ...) is the zero hash, not MTH({}) = SHA-256("").
		return emptyRoot, nil
	}
	return tlog.TreeHash(n, t)
}

// testEntry is the i'th entry of the synthetic test logs.
func testEntry(i int64) []byte {
	return []byte(fmt.Sprintf("entry %d\n", i))
}

// testTree builds the tree of the n synthetic entries.
func testTree(n int64) (*memTree, error) {
	t := &memTree{stored: make([]tlog.Hash, 0, 2*n+64)}
	for i := int64(0); i < n; i++ {
		if err := t.add(tlog.RecordHash(testEntry(i))); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// parseSize parses a canonical non-negative decimal (no sign, no leading zeros).
func parseSize(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("invalid size or index %q", s)
	}
	return n, nil
}

// int64List is a repeatable flag (-i 3 -i 5 ...).
type int64List []int64

func (l *int64List) String() string { return fmt.Sprint(*l) }
func (l *int64List) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*l = append(*l, n)
	return nil
}

// parseProofFlags parses [-i INDEX]... [-c OLD]... (in any order).
func parseProofFlags(args []string) (incl, cons int64List, err error) {
	fs := flag.NewFlagSet("gointerop", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&incl, "i", "leaf index for an inclusion proof")
	fs.Var(&cons, "c", "old tree size for a consistency proof")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() != 0 {
		return nil, nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return incl, cons, nil
}

// printProofs computes, checks and prints the inclusion and consistency proofs
// of a tree of size n with root `root`.
//   - hr serves the hashes the proofs are built from;
//   - leaf(i) returns the leaf hash of record i, obtained independently of hr.
//
// Every proof is verified with tlog.CheckRecord / tlog.CheckTree against root
// before it is printed, so a proof built from a lying HashReader cannot be printed.
func printProofs(w io.Writer, n int64, root tlog.Hash, hr tlog.HashReader, leaf func(int64) (tlog.Hash, error), incl, cons []int64) error {
	for _, i := range incl {
		if i >= n {
			return fmt.Errorf("inclusion index %d not in tree of size %d", i, n)
		}
		p, err := tlog.ProveRecord(n, i, hr)
		if err != nil {
			return fmt.Errorf("ProveRecord(%d, %d): %v", n, i, err)
		}
		lh, err := leaf(i)
		if err != nil {
			return err
		}
		if err := tlog.CheckRecord(p, n, root, i, lh); err != nil {
			return fmt.Errorf("CheckRecord(%d, %d): %v", n, i, err)
		}
		fmt.Fprintf(w, "inclusion %d%s\n", i, hashList(p))
	}
	for _, old := range cons {
		// x/mod rejects old size 0 (ProveTree/CheckTree need 1 <= old <= n);
		// C2SP/RFC 9162 have no single convention for it, so we refuse it too.
		if old < 1 || old > n {
			return fmt.Errorf("consistency old size %d not in 1..%d", old, n)
		}
		p, err := tlog.ProveTree(n, old, hr)
		if err != nil {
			return fmt.Errorf("ProveTree(%d, %d): %v", n, old, err)
		}
		// The old root comes from hr too; CheckTree binds it to the trusted
		// new root, so an unverified old root cannot pass.
		oldRoot, err := tlog.TreeHash(old, hr)
		if err != nil {
			return fmt.Errorf("TreeHash(%d): %v", old, err)
		}
		if err := tlog.CheckTree(p, n, root, old, oldRoot); err != nil {
			return fmt.Errorf("CheckTree(%d, %d): %v", n, old, err)
		}
		fmt.Fprintf(w, "consistency %d%s\n", old, hashList(p))
	}
	return nil
}

// hashList formats hashes as " h1 h2 ..." (empty string for no hashes).
func hashList(hs []tlog.Hash) string {
	var b strings.Builder
	for _, h := range hs {
		b.WriteString(" ")
		b.WriteString(b64(h))
	}
	return b.String()
}

// merkle N [-i INDEX]... [-c OLD]...
func cmdMerkle(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: gointerop merkle N [-i INDEX]... [-c OLD]...")
	}
	n, err := parseSize(args[0])
	if err != nil {
		return err
	}
	incl, cons, err := parseProofFlags(args[1:])
	if err != nil {
		return err
	}
	t, err := testTree(n)
	if err != nil {
		return err
	}
	root, err := t.root(n) // SHA-256("") for n == 0, see memTree.root
	if err != nil {
		return err
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "root %s\n", b64(root))
	leaf := func(i int64) (tlog.Hash, error) { return tlog.RecordHash(testEntry(i)), nil }
	if err := printProofs(&out, n, root, t, leaf, incl, cons); err != nil {
		return err
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}

// ---------------------------------------------------------------------------
// C2SP tlog-tiles layout.

// c2spPath returns the C2SP path of a tile: "tile/<L>/<N>[.p/<W>]" for hash
// tiles, "tile/entries/<N>[.p/<W>]" for entry bundles (level -1 here, as in
// Go's tlog.Tile). N is written in 3-digit groups, all but the last prefixed
// with "x" (1234067 -> x001/x234/067).
func c2spPath(level int, n int64, w int) string {
	nStr := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		nStr = fmt.Sprintf("x%03d/%s", n%1000, nStr)
	}
	l := strconv.Itoa(level)
	if level == -1 {
		l = "entries"
	}
	p := ""
	if w != tileWidth {
		p = fmt.Sprintf(".p/%d", w)
	}
	return "tile/" + l + "/" + nStr + p
}

// c2spTilePath converts a Go tile (H = 8) to its C2SP path and double-checks
// the conversion against Go's own tile.Path() ("tile/8/<L or data>/...").
func c2spTilePath(t tlog.Tile) (string, error) {
	if t.H != tileHeight {
		return "", fmt.Errorf("tile height %d, want %d", t.H, tileHeight)
	}
	p := c2spPath(t.L, t.N, t.W)
	goStyle := strings.Replace(strings.Replace(p, "tile/", "tile/8/", 1), "tile/8/entries/", "tile/8/data/", 1)
	if goStyle != t.Path() {
		return "", fmt.Errorf("path conversion bug: %s vs Go %s", p, t.Path())
	}
	return p, nil
}

// levelTiles describes the hash tiles of one level for a tree of size n:
// `full` full tiles, then one partial tile of width `partial` if partial > 0.
// Width at level l is floor(n / 256^l) mod 256 (C2SP tlog-tiles).
func levelTiles(n int64, level int) (full int64, partial int) {
	count := n >> (tileHeight * uint(level))
	return count >> tileHeight, int(count % tileWidth)
}

// servedTiles returns the hash tiles a static C2SP log of size n serves,
// derived from tlog.NewTiles(8, 0, n). NewTiles also lists every narrower
// partial tile of the right edge (widths 1..W-1), which a log of size n does
// not serve, so only the widest partial tile of each level is kept.
func servedTiles(n int64) []tlog.Tile {
	var out []tlog.Tile
	for _, t := range tlog.NewTiles(tileHeight, 0, n) {
		if _, partial := levelTiles(n, t.L); t.W == tileWidth || t.W == partial {
			out = append(out, t)
		}
	}
	return out
}

func writeFile(dir, rel string, data []byte) error {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// writelog DIR N SKEY-FILE ORIGIN: writes a C2SP tlog-tiles log of the N
// synthetic entries with Go's code only.
func cmdWritelog(args []string) error {
	if len(args) != 4 {
		return errors.New("usage: gointerop writelog DIR N SKEY-FILE ORIGIN")
	}
	dir, origin := args[0], args[3]
	n, err := parseSize(args[1])
	if err != nil {
		return err
	}
	signer, err := loadSigner(args[2])
	if err != nil {
		return err
	}
	if signer.Name() != origin {
		return fmt.Errorf("key name %q != origin %q", signer.Name(), origin)
	}
	t, err := testTree(n)
	if err != nil {
		return err
	}

	// Hash tiles for every level, from tlog.ReadTileData over the stored hashes.
	for _, tile := range servedTiles(n) {
		data, err := tlog.ReadTileData(tile, t)
		if err != nil {
			return fmt.Errorf("ReadTileData %s: %v", tile.Path(), err)
		}
		p, err := c2spTilePath(tile)
		if err != nil {
			return err
		}
		if err := writeFile(dir, p, data); err != nil {
			return err
		}
	}

	// Entry bundles: one per level-0 tile, same index and width (Go level -1).
	full, partial := levelTiles(n, 0)
	bundles := full
	if partial > 0 {
		bundles++
	}
	for b := int64(0); b < bundles; b++ {
		w := tileWidth
		if b == full {
			w = partial
		}
		var buf bytes.Buffer
		for i := int64(0); i < int64(w); i++ {
			e := testEntry(b*tileWidth + i)
			var l [2]byte
			binary.BigEndian.PutUint16(l[:], uint16(len(e)))
			buf.Write(l[:])
			buf.Write(e)
		}
		p, err := c2spTilePath(tlog.Tile{H: tileHeight, L: -1, N: b, W: w})
		if err != nil {
			return err
		}
		if err := writeFile(dir, p, buf.Bytes()); err != nil {
			return err
		}
	}

	// Checkpoint: "<origin>\n<size>\n<base64 root>\n", signed by the log key.
	root, err := t.root(n)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", origin, n, b64(root))
	msg, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		return fmt.Errorf("note.Sign: %v", err)
	}
	return writeFile(dir, "checkpoint", msg)
}

// checkpoint is a parsed, signature-verified C2SP checkpoint.
type checkpoint struct {
	origin string
	n      int64
	root   tlog.Hash
}

// openCheckpoint reads DIR/checkpoint, verifies it with note.Open and vkey,
// and parses origin, size and root (extension lines are ignored).
func openCheckpoint(dir, vkey string) (*checkpoint, error) {
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return nil, err
	}
	known, err := verifiers([]string{vkey})
	if err != nil {
		return nil, err
	}
	nt, err := note.Open(msg, known)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: note.Open: %v", err)
	}
	// note.Open guarantees Text ends in "\n".
	lines := strings.Split(strings.TrimSuffix(nt.Text, "\n"), "\n")
	if len(lines) < 3 || lines[0] == "" {
		return nil, fmt.Errorf("checkpoint: malformed body %q", nt.Text)
	}
	n, err := parseSize(lines[1])
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil || b64(root) != lines[2] { // also reject non-canonical base64
		return nil, fmt.Errorf("checkpoint: malformed root hash %q", lines[2])
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			return nil, errors.New("checkpoint: empty extension line")
		}
	}
	return &checkpoint{origin: lines[0], n: n, root: root}, nil
}

// readBundle reads and decodes entry bundle b of width w: exactly w entries,
// each uint16 big-endian length ‖ bytes, with no trailing bytes.
func readBundle(dir string, b int64, w int) ([][]byte, error) {
	p := c2spPath(-1, b, w)
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		return nil, fmt.Errorf("entry bundle %s: %v", p, err)
	}
	var entries [][]byte
	for i := 0; len(data) > 0; i++ {
		if i == w {
			return nil, fmt.Errorf("entry bundle %s: trailing bytes after %d entries", p, w)
		}
		if len(data) < 2 {
			return nil, fmt.Errorf("entry bundle %s: truncated length of entry %d", p, i)
		}
		l := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+l {
			return nil, fmt.Errorf("entry bundle %s: truncated entry %d", p, i)
		}
		entries = append(entries, data[2:2+l])
		data = data[2+l:]
	}
	if len(entries) != w {
		return nil, fmt.Errorf("entry bundle %s: %d entries, want %d", p, len(entries), w)
	}
	return entries, nil
}

// merkleRoot256 is the Merkle root of 256 hashes (a full tile's content),
// computed pairwise with tlog.NodeHash.
func merkleRoot256(data []byte) tlog.Hash {
	hs := make([]tlog.Hash, len(data)/tlog.HashSize)
	for i := range hs {
		copy(hs[i][:], data[i*tlog.HashSize:])
	}
	for len(hs) > 1 {
		next := make([]tlog.Hash, len(hs)/2)
		for i := range next {
			next[i] = tlog.NodeHash(hs[2*i], hs[2*i+1])
		}
		hs = next
	}
	return hs[0]
}

// checklog DIR VKEY: independently re-verifies a C2SP tlog-tiles log from its
// raw files. Trusts only the checkpoint signature; everything else is
// recomputed from the entry bundles.
func cmdChecklog(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: gointerop checklog DIR VKEY")
	}
	cp, _, _, err := verifyLog(args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Printf("ok %d %s\n", cp.n, b64(cp.root))
	return nil
}

// verifyLog is checklog's verification: it returns the checkpoint, the tree
// of the entries and the entries themselves.
func verifyLog(dir, vkey string) (*checkpoint, *memTree, [][]byte, error) {
	cp, err := openCheckpoint(dir, vkey)
	if err != nil {
		return nil, nil, nil, err
	}
	n := cp.n
	var all [][]byte

	// 1. Entries -> leaf hashes -> stored hashes (tlog.StoredHashes' algorithm).
	t := &memTree{stored: make([]tlog.Hash, 0, 2*n+64)}
	var leaves []tlog.Hash
	full, partial := levelTiles(n, 0)
	for b := int64(0); b <= full; b++ {
		w := tileWidth
		if b == full {
			if partial == 0 {
				break
			}
			w = partial
		}
		entries, err := readBundle(dir, b, w)
		if err != nil {
			return nil, nil, nil, err
		}
		all = append(all, entries...)
		for _, e := range entries {
			h := tlog.RecordHash(e)
			leaves = append(leaves, h)
			if err := t.add(h); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	if int64(len(leaves)) != n {
		return nil, nil, nil, fmt.Errorf("read %d entries, checkpoint size %d", len(leaves), n)
	}

	// 2. Hash tiles, level by level. `below` holds the previous level's
	// verified hashes (the leaf hashes for level 0).
	below := leaves
	for level := 0; ; level++ {
		full, partial := levelTiles(n, level)
		if full == 0 && partial == 0 {
			break
		}
		var this []tlog.Hash // this level's hashes, for the next level
		for tn := int64(0); tn <= full; tn++ {
			w := tileWidth
			if tn == full {
				if partial == 0 {
					break
				}
				w = partial
			}
			p := c2spPath(level, tn, w)
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("hash tile %s: %v", p, err)
			}
			if len(data) != w*tlog.HashSize {
				return nil, nil, nil, fmt.Errorf("hash tile %s: %d bytes, want %d", p, len(data), w*tlog.HashSize)
			}
			for i := 0; i < w; i++ {
				var got tlog.Hash
				copy(got[:], data[i*tlog.HashSize:])
				// Expected hash: level 0 = leaf hash of the entry; level >= 1 =
				// Merkle root of the full tile below, from hashes we verified.
				var want tlog.Hash
				idx := tn*tileWidth + int64(i)
				if level == 0 {
					want = leaves[idx]
				} else {
					var child []byte
					for _, h := range below[idx*tileWidth : (idx+1)*tileWidth] {
						child = append(child, h[:]...)
					}
					want = merkleRoot256(child)
				}
				if got != want {
					if level == 0 {
						return nil, nil, nil, fmt.Errorf("hash tile %s: hash %d != leaf hash of entry %d (%s)", p, i, idx, c2spPath(-1, tn, w))
					}
					return nil, nil, nil, fmt.Errorf("hash tile %s: hash %d != root of tile %s", p, i, c2spPath(level-1, idx, tileWidth))
				}
				this = append(this, got)
			}
			// Second, independent expectation: tlog.ReadTileData over the
			// stored hashes computed from the entries.
			exp, err := tlog.ReadTileData(tlog.Tile{H: tileHeight, L: level, N: tn, W: w}, t)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("hash tile %s: ReadTileData: %v", p, err)
			}
			if !bytes.Equal(exp, data) {
				return nil, nil, nil, fmt.Errorf("hash tile %s: differs from tlog.ReadTileData", p)
			}
		}
		below = this
	}

	// 3. Root from the entries' stored hashes (not from the tiles).
	root, err := t.root(n)
	if err != nil {
		return nil, nil, nil, err
	}
	if root != cp.root {
		return nil, nil, nil, fmt.Errorf("checkpoint root %s != root of entries %s", b64(cp.root), b64(root))
	}
	return cp, t, all, nil
}

// checkdir DIR VKEY: checklog, then every file below DIR/tile, which is what a
// web server publishes: each must be a tile path (the one C2SP spelling, read
// with Go's tlog.ParseTilePath) that the checkpoint covers, and hold exactly the
// bytes the checkpoint's tree gives it (tlog.ReadTileData over the entries'
// stored hashes for hash tiles, the entries themselves for bundles), whatever
// its width: a narrower partial tile of an older checkpoint included.
func cmdCheckdir(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: gointerop checkdir DIR VKEY")
	}
	dir := args[0]
	cp, t, entries, err := verifyLog(dir, args[1])
	if err != nil {
		return err
	}
	files := 0
	err = filepath.WalkDir(filepath.Join(dir, "tile"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		files++
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		goPath := strings.Replace(strings.Replace(rel, "tile/", "tile/8/", 1), "tile/8/entries/", "tile/8/data/", 1)
		tile, err := tlog.ParseTilePath(goPath)
		if err != nil {
			return fmt.Errorf("%s is not a tile path: %v", rel, err)
		}
		if canon, err := c2spTilePath(tile); err != nil || canon != rel {
			return fmt.Errorf("%s is not the one spelling of a tile (%s, %v)", rel, canon, err)
		}
		level := tile.L
		if level < 0 {
			level = 0
		}
		// The last hash (or entry) of the tile must be inside the checkpoint's tree.
		end := (tile.N*tileWidth + int64(tile.W)) << (tileHeight * uint(level))
		if end > cp.n || end < 0 {
			return fmt.Errorf("%s is beyond the checkpoint (size %d)", rel, cp.n)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var want []byte
		if tile.L < 0 {
			var buf bytes.Buffer
			for _, e := range entries[tile.N*tileWidth : tile.N*tileWidth+int64(tile.W)] {
				var l [2]byte
				binary.BigEndian.PutUint16(l[:], uint16(len(e)))
				buf.Write(l[:])
				buf.Write(e)
			}
			want = buf.Bytes()
		} else if want, err = tlog.ReadTileData(tile, t); err != nil {
			return fmt.Errorf("%s: ReadTileData: %v", rel, err)
		}
		if !bytes.Equal(data, want) {
			return fmt.Errorf("%s differs from what the checkpoint's tree gives it", rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("ok %d %s %d\n", cp.n, b64(cp.root), files)
	return nil
}

// ---------------------------------------------------------------------------
// Proofs through tlog.TileHashReader.

// dirTileReader serves C2SP tiles from a directory to tlog.TileHashReader.
type dirTileReader struct{ dir string }

func (r dirTileReader) Height() int { return tileHeight }

func (r dirTileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p, err := c2spTilePath(t)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(p)))
		if err != nil {
			return nil, fmt.Errorf("hash tile %s: %v", p, err)
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("hash tile %s: %d bytes, want %d", p, len(data), t.W*tlog.HashSize)
		}
		out[i] = data
	}
	return out, nil
}

func (r dirTileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// proofs DIR VKEY [-i INDEX]... [-c OLD]...: like merkle, over the log in DIR.
// Hashes come from tlog.TileHashReader; leaf hashes for inclusion proofs come
// from the entry bundles; every proof is checked against the checkpoint root.
func cmdProofs(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: gointerop proofs DIR VKEY [-i INDEX]... [-c OLD]...")
	}
	dir := args[0]
	cp, err := openCheckpoint(dir, args[1])
	if err != nil {
		return err
	}
	incl, cons, err := parseProofFlags(args[2:])
	if err != nil {
		return err
	}
	hr := tlog.TileHashReader(tlog.Tree{N: cp.n, Hash: cp.root}, dirTileReader{dir})
	leaf := func(i int64) (tlog.Hash, error) {
		b, w := i/tileWidth, tileWidth
		if full, partial := levelTiles(cp.n, 0); b == full {
			w = partial
		}
		entries, err := readBundle(dir, b, w)
		if err != nil {
			return tlog.Hash{}, err
		}
		return tlog.RecordHash(entries[i%tileWidth]), nil
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "root %s\n", b64(cp.root))
	if err := printProofs(&out, cp.n, cp.root, hr, leaf, incl, cons); err != nil {
		return err
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}
