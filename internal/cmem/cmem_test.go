package cmem

import "testing"

func TestAllocIsZeroedPagesOutsideTheHeap(t *testing.T) {
	b, err := Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != RoundUp(10) || b.Len()%pageSize != 0 {
		t.Fatalf("len %d", b.Len())
	}
	for i, c := range b.Bytes() {
		if c != 0 {
			t.Fatalf("byte %d is %d", i, c)
		}
	}
	b.Bytes()[b.Len()-1] = 7
	if b.Addr() == 0 || b.Addr()%uintptr(pageSize) != 0 {
		t.Fatalf("addr %#x", b.Addr())
	}
	if err := b.Free(); err != nil {
		t.Fatal(err)
	}
	if err := b.Free(); err != nil {
		t.Fatal("second Free must be a no-op")
	}
	if RoundUp(0) != pageSize || RoundUp(pageSize+1) != 2*pageSize {
		t.Fatal("RoundUp")
	}
}
