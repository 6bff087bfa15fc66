"""What an anonymous shop visitor does in the browser flows of every
series: the pages walked with a full cart and the guest's address."""

# Each a new document that nginx may send to either node ({lamp}, {chair}:
# the products' ids in the series' product URLs).
SHOP_WALK = [
    "/shop",
    "/shop/cart",
    "/",
    "/contactus",
    "/shop/product/{lamp}",
    "/shop?search=Chair",
    "/shop/product/{chair}",
    "/shop/cart",
    "/shop",
    "/",
]

ADDRESS = {
    "name": "Gus Guest",
    "email": "gus@example.com",
    "phone": "+32 2 555 01 01",
    "street": "Rue Neuve 1",
    "city": "Brussels",
    "zip": "1000",
}
