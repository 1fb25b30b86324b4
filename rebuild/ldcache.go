package rebuild

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The glibc dynamic loader cache (/etc/ld.so.cache), as written by ldconfig.
// Layouts (glibc sysdeps/generic/dl-cache.h):
//
//	old:  "ld.so-1.7.0" nlibs:u32 {flags:i32 key:u32 value:u32}*nlibs strings
//	new:  "glibc-ld.so.cache" "1.1" nlibs:u32 len_strings:u32 flags:u8 pad[3]
//	      extension_offset:u32 unused[3]:u32
//	      {flags:i32 key:u32 value:u32 osversion:u32 hwcap:u64}*nlibs strings
//
// Since glibc 2.32 only the new format is written; older ldconfig wrote the
// old format followed by the new one (aligned to 8). String offsets of the new
// format are relative to the start of its header; those of the old format to
// the start of its string table.
const (
	ldCacheOldMagic = "ld.so-1.7.0"
	ldCacheNewMagic = "glibc-ld.so.cache1.1"

	ldCacheNewHeaderSize = 48
	ldCacheNewEntrySize  = 24
	ldCacheOldEntrySize  = 12

	ldCacheExtensionMagic = 0xeaa42174
	ldCacheExtGenerator   = 0
	ldCacheExtHWCaps      = 1

	// An entry's hwcap field refers to a glibc-hwcaps subdirectory when its
	// top 9 bits are exactly those of 1<<62 (glibc dl_cache_hwcap_extension).
	ldCacheHWCapExtension = uint64(1) << 62
)

// Flags of ld.so.cache entries (FLAG_* in glibc's ldconfig.h).
const (
	LdCacheFlagTypeMask     = 0x00ff
	LdCacheFlagELF          = 0x0001
	LdCacheFlagELFLibc5     = 0x0002
	LdCacheFlagELFLibc6     = 0x0003
	LdCacheFlagRequiredMask = 0xff00
	LdCacheFlagX8664Lib64   = 0x0300
	LdCacheFlagX8664Libx32  = 0x0800
	LdCacheFlagAArch64Lib64 = 0x0a00
)

// LdCache is a parsed /etc/ld.so.cache.
type LdCache struct {
	Format    string // "new" or "old"
	Entries   []LdCacheEntry
	HWCaps    []string // glibc-hwcaps subdirectory names (new format extension)
	Generator string   // e.g. "ldconfig (GNU libc) stable release version 2.36"
}

// LdCacheEntry maps a soname (Key) to the path of a library (Value).
type LdCacheEntry struct {
	Flags     int32
	Key       string
	Value     string
	OSVersion uint32
	HWCap     uint64
	HWCapsDir string // glibc-hwcaps subdirectory ("x86-64-v3"), "" for the baseline
}

// ErrBadLdCache reports a cache that cannot be parsed.
var ErrBadLdCache = errors.New("malformed ld.so.cache")

// ParseLdCache parses the bytes of an ld.so.cache file. It never panics and
// bounds every offset by the input.
func ParseLdCache(b []byte) (*LdCache, error) {
	switch {
	case bytes.HasPrefix(b, []byte(ldCacheNewMagic)):
		return parseLdCacheNew(b, 0)
	case bytes.HasPrefix(b, []byte(ldCacheOldMagic)):
		if len(b) < 16 {
			return nil, fmt.Errorf("%w: short old header", ErrBadLdCache)
		}
		n := uint64(binary.LittleEndian.Uint32(b[12:16]))
		end := 16 + n*ldCacheOldEntrySize
		if end > uint64(len(b)) {
			return nil, fmt.Errorf("%w: %d old entries overrun the file", ErrBadLdCache, n)
		}
		newAt := (end + 7) &^ 7
		if newAt+uint64(len(ldCacheNewMagic)) <= uint64(len(b)) && bytes.HasPrefix(b[newAt:], []byte(ldCacheNewMagic)) {
			return parseLdCacheNew(b, int(newAt))
		}
		return parseLdCacheOld(b, int(n))
	default:
		return nil, fmt.Errorf("%w: unknown magic", ErrBadLdCache)
	}
}

func parseLdCacheOld(b []byte, n int) (*LdCache, error) {
	c := &LdCache{Format: "old"}
	strs := 16 + n*ldCacheOldEntrySize
	for i := 0; i < n; i++ {
		e := b[16+i*ldCacheOldEntrySize:]
		key, ok1 := cString(b, uint64(strs)+uint64(binary.LittleEndian.Uint32(e[4:8])))
		val, ok2 := cString(b, uint64(strs)+uint64(binary.LittleEndian.Uint32(e[8:12])))
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: old entry %d: string out of bounds", ErrBadLdCache, i)
		}
		c.Entries = append(c.Entries, LdCacheEntry{Flags: int32(binary.LittleEndian.Uint32(e[0:4])), Key: key, Value: val})
	}
	return c, nil
}

func parseLdCacheNew(all []byte, at int) (*LdCache, error) {
	b := all[at:]
	if len(b) < ldCacheNewHeaderSize {
		return nil, fmt.Errorf("%w: short header", ErrBadLdCache)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch b[28] & 3 { // cache_file_new_flags_endian_*
	case 3:
		bo = binary.BigEndian
	case 1:
		return nil, fmt.Errorf("%w: invalid endianness flag", ErrBadLdCache)
	}
	n := uint64(bo.Uint32(b[20:24]))
	if ldCacheNewHeaderSize+n*ldCacheNewEntrySize > uint64(len(b)) {
		return nil, fmt.Errorf("%w: %d entries overrun the file", ErrBadLdCache, n)
	}
	c := &LdCache{Format: "new"}
	if ext := uint64(bo.Uint32(b[32:36])); ext != 0 {
		if err := c.parseExtensions(b, ext, bo); err != nil {
			return nil, err
		}
	}
	c.Entries = make([]LdCacheEntry, 0, n)
	for i := uint64(0); i < n; i++ {
		e := b[ldCacheNewHeaderSize+i*ldCacheNewEntrySize:]
		key, ok1 := cString(b, uint64(bo.Uint32(e[4:8])))
		val, ok2 := cString(b, uint64(bo.Uint32(e[8:12])))
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: entry %d: string out of bounds", ErrBadLdCache, i)
		}
		ent := LdCacheEntry{
			Flags:     int32(bo.Uint32(e[0:4])),
			Key:       key,
			Value:     val,
			OSVersion: bo.Uint32(e[12:16]),
			HWCap:     bo.Uint64(e[16:24]),
		}
		if ent.HWCap>>55 == ldCacheHWCapExtension>>55 {
			idx := uint64(uint32(ent.HWCap))
			if idx >= uint64(len(c.HWCaps)) {
				return nil, fmt.Errorf("%w: entry %d: hwcaps index %d out of range", ErrBadLdCache, i, idx)
			}
			ent.HWCapsDir = c.HWCaps[idx]
		}
		c.Entries = append(c.Entries, ent)
	}
	return c, nil
}

func (c *LdCache) parseExtensions(b []byte, off uint64, bo binary.ByteOrder) error {
	if off+8 > uint64(len(b)) {
		return fmt.Errorf("%w: extension header out of bounds", ErrBadLdCache)
	}
	if bo.Uint32(b[off:]) != ldCacheExtensionMagic {
		return nil // glibc ignores a bad extension magic
	}
	count := uint64(bo.Uint32(b[off+4:]))
	if off+8+count*16 > uint64(len(b)) {
		return fmt.Errorf("%w: %d extension sections overrun the file", ErrBadLdCache, count)
	}
	for i := uint64(0); i < count; i++ {
		s := b[off+8+i*16:]
		tag, soff, size := bo.Uint32(s[0:4]), uint64(bo.Uint32(s[8:12])), uint64(bo.Uint32(s[12:16]))
		if soff+size > uint64(len(b)) {
			return fmt.Errorf("%w: extension section %d out of bounds", ErrBadLdCache, i)
		}
		data := b[soff : soff+size]
		switch tag {
		case ldCacheExtGenerator:
			c.Generator = string(data)
		case ldCacheExtHWCaps:
			if size%4 != 0 {
				return fmt.Errorf("%w: hwcaps section size %d", ErrBadLdCache, size)
			}
			for j := uint64(0); j < size; j += 4 {
				name, ok := cString(b, uint64(bo.Uint32(data[j:])))
				if !ok {
					return fmt.Errorf("%w: hwcaps name out of bounds", ErrBadLdCache)
				}
				c.HWCaps = append(c.HWCaps, name)
			}
		}
	}
	return nil
}

// cString returns the NUL-terminated string at off in b.
func cString(b []byte, off uint64) (string, bool) {
	if off >= uint64(len(b)) {
		return "", false
	}
	end := bytes.IndexByte(b[off:], 0)
	if end < 0 {
		return "", false
	}
	return string(b[off : off+uint64(end)]), true
}

// Lookup returns the cache entries for soname, in cache order (ldconfig sorts
// them so that the preferred entry comes first).
func (c *LdCache) Lookup(soname string) []LdCacheEntry {
	if c == nil {
		return nil
	}
	var out []LdCacheEntry
	for _, e := range c.Entries {
		if e.Key == soname {
			out = append(out, e)
		}
	}
	return out
}
