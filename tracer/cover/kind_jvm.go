package cover

// JVMMethods: whittle's JVMTI agent reports the first call of each method
// of the application's classes (package tracer/cover/jvm); units are
// methods, "com.example.shop.Cart.add(Item,int)".
const JVMMethods Kind = "jvm-methods"
