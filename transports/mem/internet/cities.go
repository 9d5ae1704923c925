package internet

// City is a place hosts are put at, with its share of the world's internet users.
type City struct {
	Name     string
	Lat, Lon float64 // degrees
	// Weight is the city's share of hosts: millions of internet users of the region it
	// stands for (its country, or part of one, rounded; after the ITU's counts of
	// internet users by country, 2023). Hosts are drawn in proportion to it.
	Weight float64
}

// Cities are the places hosts are drawn from: the main internet exchange cities of each
// region, weighted by the internet users they stand for, about 5.2 billion in all.
var Cities = []City{
	// North America
	{"New York", 40.71, -74.01, 70},
	{"Chicago", 41.88, -87.63, 50},
	{"Dallas", 32.78, -96.80, 50},
	{"Los Angeles", 34.05, -118.24, 60},
	{"Seattle", 47.61, -122.33, 25},
	{"Miami", 25.76, -80.19, 35},
	{"Toronto", 43.65, -79.38, 25},
	{"Vancouver", 49.28, -123.12, 10},
	{"Mexico City", 19.43, -99.13, 100},
	// South America
	{"São Paulo", -23.55, -46.63, 110},
	{"Rio de Janeiro", -22.91, -43.17, 55},
	{"Buenos Aires", -34.60, -58.38, 40},
	{"Santiago", -33.45, -70.67, 18},
	{"Lima", -12.05, -77.04, 25},
	{"Bogotá", 4.71, -74.07, 40},
	// Europe
	{"London", 51.51, -0.13, 65},
	{"Paris", 48.86, 2.35, 60},
	{"Frankfurt", 50.11, 8.68, 78},
	{"Amsterdam", 52.37, 4.90, 30},
	{"Madrid", 40.42, -3.70, 45},
	{"Milan", 45.46, 9.19, 50},
	{"Stockholm", 59.33, 18.07, 25},
	{"Warsaw", 52.23, 21.01, 35},
	{"Bucharest", 44.43, 26.10, 30},
	{"Kyiv", 50.45, 30.52, 30},
	{"Moscow", 55.76, 37.62, 80},
	{"Saint Petersburg", 59.94, 30.31, 30},
	{"Istanbul", 41.01, 28.98, 70},
	// Africa
	{"Lagos", 6.52, 3.38, 110},
	{"Accra", 5.60, -0.19, 40},
	{"Cairo", 30.04, 31.24, 80},
	{"Casablanca", 33.57, -7.59, 60},
	{"Nairobi", -1.29, 36.82, 60},
	{"Johannesburg", -26.20, 28.05, 50},
	{"Kinshasa", -4.44, 15.27, 30},
	// Middle East and Central Asia
	{"Dubai", 25.20, 55.27, 25},
	{"Riyadh", 24.71, 46.68, 35},
	{"Tehran", 35.69, 51.39, 75},
	{"Karachi", 24.86, 67.01, 70},
	{"Lahore", 31.55, 74.34, 60},
	// South Asia
	{"Delhi", 28.61, 77.21, 250},
	{"Mumbai", 19.08, 72.88, 230},
	{"Bangalore", 12.97, 77.59, 200},
	{"Kolkata", 22.57, 88.36, 150},
	{"Dhaka", 23.81, 90.41, 80},
	// East and Southeast Asia
	{"Beijing", 39.90, 116.41, 300},
	{"Shanghai", 31.23, 121.47, 300},
	{"Guangzhou", 23.13, 113.26, 300},
	{"Chengdu", 30.57, 104.07, 200},
	{"Hong Kong", 22.32, 114.17, 7},
	{"Taipei", 25.03, 121.57, 22},
	{"Seoul", 37.57, 126.98, 50},
	{"Tokyo", 35.68, 139.69, 75},
	{"Osaka", 34.69, 135.50, 40},
	{"Manila", 14.60, 120.98, 85},
	{"Ho Chi Minh City", 10.82, 106.63, 78},
	{"Bangkok", 13.76, 100.50, 60},
	{"Kuala Lumpur", 3.14, 101.69, 33},
	{"Singapore", 1.35, 103.82, 6},
	{"Jakarta", -6.21, 106.85, 210},
	// Oceania
	{"Sydney", -33.87, 151.21, 14},
	{"Melbourne", -37.81, 144.96, 10},
	{"Auckland", -36.85, 174.76, 5},
}
