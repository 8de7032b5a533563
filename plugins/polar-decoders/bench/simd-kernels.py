"""Assembles the WebAssembly SIMD kernels of src/decoders/simd.ts and prints the module as base64.

Run: python3 bench/simd-kernels.py  (paste the last line into MODULE_BASE64). Kernels: f, g, g0, xor;
see the comment in src/decoders/simd.ts for their arguments.
"""
import base64
def leb(n):
    out=bytearray()
    while True:
        b=n&0x7f; n>>=7
        if n==0: out.append(b); return bytes(out)
        out.append(b|0x80)
def sleb(n):
    out=bytearray()
    while True:
        b=n&0x7f; n>>=7
        if (n==0 and not b&0x40) or (n==-1 and b&0x40): out.append(b); return bytes(out)
        out.append(b|0x80)
def simd(op): return b'\xfd'+leb(op)
MEM=b'\x00\x00'  # align 0, offset 0
lget=lambda i: b'\x20'+leb(i)
lset=lambda i: b'\x21'+leb(i)
i32c=lambda v: b'\x41'+sleb(v)
ADD=b'\x6a'; GEU=b'\x4f'; SHRU=b'\x76'
V_LOAD=simd(0x00)+MEM; V_STORE=simd(0x0b)+MEM; V_LOAD32Z=simd(0x5c)+MEM
V_AND=simd(0x4e); V_OR=simd(0x50); V_XOR=simd(0x51)
I32X4_SPLAT=simd(0x11); I32X4_MIN_S=simd(0xb6); I32X4_SHL=simd(0xab); F32X4_ADD=simd(0xe4)
EXT8=simd(0x89); EXT16=simd(0xa9)
def loop(nparam_k, nparam_n, body):
    # block; loop; k >= n -> br 1; body; k += 16; br 0; end; end
    k=nparam_k
    return (b'\x02\x40\x03\x40' + lget(k)+lget(nparam_n)+GEU+b'\x0d\x01' + body +
            lget(k)+i32c(16)+ADD+lset(k)+b'\x0c\x00\x0b\x0b')
def func(locals_, code):
    # locals_: list of (count, type)
    body=leb(len(locals_))+b''.join(leb(c)+bytes([t]) for c,t in locals_)+code+b'\x0b'
    return leb(len(body))+body
I32=0x7f; V128=0x7b
# f(dst, pa, pb, nbytes): k=4, va=5, vb=6
f_body=loop(4,3,
    lget(0)+lget(4)+ADD +
    lget(1)+lget(4)+ADD+V_LOAD+lset(5) +
    lget(2)+lget(4)+ADD+V_LOAD+lset(6) +
    lget(5)+lget(6)+V_XOR+i32c(-2147483648)+I32X4_SPLAT+V_AND +
    lget(5)+i32c(0x7fffffff)+I32X4_SPLAT+V_AND +
    lget(6)+i32c(0x7fffffff)+I32X4_SPLAT+V_AND + I32X4_MIN_S + V_OR + V_STORE)
f_code=func([(1,I32),(2,V128)], f_body)
# g(dst, pa, pb, pu, nbytes): k=5 ; dst = pb + (pa ^ (u << 31))
g_body=loop(5,4,
    lget(0)+lget(5)+ADD +
    lget(2)+lget(5)+ADD+V_LOAD +
    lget(1)+lget(5)+ADD+V_LOAD +
    lget(3)+lget(5)+i32c(2)+SHRU+ADD+V_LOAD32Z+EXT8+EXT16+i32c(31)+I32X4_SHL + V_XOR +
    F32X4_ADD + V_STORE)
g_code=func([(1,I32)], g_body)
# g0(dst, pa, pb, nbytes): k=4 ; dst = pb + pa
g0_body=loop(4,3,
    lget(0)+lget(4)+ADD + lget(2)+lget(4)+ADD+V_LOAD + lget(1)+lget(4)+ADD+V_LOAD + F32X4_ADD + V_STORE)
g0_code=func([(1,I32)], g0_body)
# xor(dst, pa, nbytes): dst[k] ^= pa[k]; k=3
x_body=loop(3,2,
    lget(0)+lget(3)+ADD + lget(0)+lget(3)+ADD+V_LOAD + lget(1)+lget(3)+ADD+V_LOAD + V_XOR + V_STORE)
x_code=func([(1,I32)], x_body)
def sec(i, content): return bytes([i])+leb(len(content))+content
types = [(4,),(5,),(3,)]
t_sec = leb(3) + b''.join(b'\x60'+leb(n)+bytes([I32])*n+b'\x00' for (n,) in types)
imp = leb(1) + leb(1)+b'm' + leb(3)+b'mem' + b'\x02' + b'\x00' + leb(1)   # memory, limits min 1
funcs = leb(4) + leb(0) + leb(1) + leb(0) + leb(2)   # f:type0(4), g:type1(5), g0:type0, xor:type2(3)
def exp(name, idx): return leb(len(name))+name.encode()+b'\x00'+leb(idx)
exps = leb(4)+exp('f',0)+exp('g',1)+exp('g0',2)+exp('xor',3)
code = leb(4)+f_code+g_code+g0_code+x_code
mod = b'\x00asm\x01\x00\x00\x00' + sec(1,t_sec) + sec(2,imp) + sec(3,funcs) + sec(7,exps) + sec(10,code)
print(len(mod)); print(base64.b64encode(mod).decode())
